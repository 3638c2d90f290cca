// The server: accepts connections on the listening socket and owns the
// sessions; refuses other users and connections past the limit; at the end
// flushes and closes every session, with a grace for clients that do not
// read, and removes the socket if it is still ours. The shape is Asio's
// echo server: one io_context, a listener coroutine, one session per
// connection. What a message means is not its business: each session hands
// its messages to the OnFrame it was given (the rpc layer's dispatcher).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "daemon/net/limits.hpp"
#include "daemon/net/listener.hpp"
#include "daemon/net/session.hpp"

namespace hs::daemon::net {

class Server {
 public:
  Server(boost::asio::io_context& io, const Limits& limits, ListeningSocket socket, Session::OnFrame on_frame);
  /// Removes the socket if it is still ours.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Starts accepting. `on_failure` runs if the accept loop dies: a daemon
  /// that accepts nothing must not look healthy.
  void start(std::function<void()> on_failure);
  /// Stops accepting (idempotent); open sessions go on.
  void stop_accepting();
  /// Flushes and closes every session (each once everything it received is
  /// answered and sent); those still open after `grace` are closed at once.
  /// `done` runs once the last one has closed, after the socket is removed.
  /// REQUIRES: stop_accepting() first.
  void close_sessions(std::chrono::milliseconds grace, std::function<void()> done);

 private:
  void session_closed(uint64_t id);
  boost::asio::awaitable<void> accept_loop();
  void maybe_finish();
  /// At the connection limit: closes the connection heard from least
  /// recently that holds nothing and either never sent a byte or has been
  /// quiet for kIdleGrace. True when one was closed.
  bool evict_idle();
  /// Tells a connection refused at the limit why, in one error line.
  void refuse(boost::asio::local::stream_protocol::socket& sock) const;
  void heard_from(uint64_t id);

  /// How long a connection that has talked must be quiet before it may be
  /// closed to let another in at the limit (and only if it holds nothing):
  /// a client between two calls of one conversation keeps its connection.
  /// One that never sent a byte has no such grace; the oldest goes first,
  /// so a client that just connected is the last candidate, not the first.
  static constexpr std::chrono::milliseconds kIdleGrace{1000};

  struct Entry {
    std::weak_ptr<Session> session;
    std::list<uint64_t>::iterator quiet;  // its place in quiet_
  };

  boost::asio::io_context& io_;
  const Limits& limits_;
  Session::OnFrame on_frame_;
  ListeningSocket listening_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer grace_timer_;
  std::unordered_map<uint64_t, Entry> sessions_;
  // Connection ids, least recently heard from first: a session moves to the
  // back on each read, so the front is where idle ones are.
  std::list<uint64_t> quiet_;
  std::function<void()> on_closed_;
  uint64_t next_id_ = 0;
  bool accepting_ = true;
  bool closing_ = false;  // close_sessions ran
  bool finished_ = false;
};

}  // namespace hs::daemon::net
