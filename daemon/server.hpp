// The server: accepts connections on the listening socket, owns the
// sessions, and stops gracefully (SIGTERM, SIGINT or daemon.shutdown): stop
// accepting, answer -32000 to anything newer, finish the queued changes and
// the write in flight, flush and close the sessions, remove the socket if it
// is still ours. The shape is Asio's echo server: one io_context, a listener
// coroutine, one session per connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>

#include "daemon/context.hpp"
#include "daemon/listener.hpp"
#include "daemon/live/subscriptions.hpp"
#include "daemon/sequencer.hpp"
#include "daemon/state_watch.hpp"
#include "daemon/triggers/service.hpp"

namespace hs::daemon {

class Session;

class Server {
 public:
  Server(boost::asio::io_context& io, const Options& opts, store::StateStore& store, ListeningSocket socket);
  ~Server();

  /// Starts accepting and handling signals. io.run() returns after shutdown.
  void start();
  /// Begins the graceful stop (idempotent).
  void request_shutdown(std::string_view why);

  /// True when the daemon stopped because a loop of its own failed: the
  /// process then exits with an error status.
  bool failed() const { return failed_; }

 private:
  void session_closed(uint64_t id);
  void fail(std::string_view why);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> watchdog_loop(std::chrono::microseconds every);
  void close_sessions();
  void maybe_finish();
  void start_triggers(const std::string& state_dir, const std::string& socket_path);
  /// One of the things a stop waits for is done (the Sequencer drained
  /// and the jobs answered; the triggers' runs ended): sessions close
  /// after the last.
  void stop_step_done();

  boost::asio::io_context& io_;
  const Options& opts_;
  Hasher hasher_;
  FileWatch files_;
  LockTable locks_;
  Sequencer seq_;
  StateWatch watch_;
  std::string state_dir_;
  Context ctx_;
  Subscriptions subs_{ctx_};
  std::unique_ptr<triggers::Service> triggers_;
  int stop_steps_ = 2;
  ListeningSocket listening_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer watchdog_timer_;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;
  uint64_t next_id_ = 0;
  bool drained_ = false;   // shutdown: the sequencer has nothing left
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace hs::daemon
