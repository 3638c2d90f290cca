// One client connection: a reader coroutine that parses frames as bytes
// arrive, and a writer that drains an output buffer. Responses and (later)
// notifications are queued with send().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "daemon/cancel.hpp"
#include "proto/framing.hpp"

namespace hs::daemon {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, boost::asio::local::stream_protocol::socket socket, uint64_t id);

  /// Starts reading. The session keeps itself alive until it closes.
  void start();
  /// Queues `msg` in `framing`. Past the unsent-output cap the connection is
  /// closed instead: a client that never reads cannot grow our memory.
  void send(const boost::json::value& msg, proto::Framing framing);
  /// Closes now; queued output is dropped.
  void close();
  /// Stops reading and closes once queued output is sent.
  void close_when_flushed();

  /// Marks a received message as in progress until the returned ticket is
  /// destroyed (when its last answer is sent). While too much is in
  /// progress the session stops reading: a client cannot queue unbounded
  /// work by pipelining faster than it is answered.
  std::shared_ptr<void> track(size_t bytes);

  uint64_t id() const { return id_; }
  /// Cancelled when the connection closes.
  CancelToken cancel_token() const { return cancel_.token(); }
  bool closed() const { return closed_.load(std::memory_order_relaxed); }

 private:
  struct Ticket;
  /// Messages whose answers are still owed; past either bound, reading pauses.
  static constexpr size_t kMaxPendingMessages = 64;
  bool too_busy() const;
  void message_done(size_t bytes);

  boost::asio::awaitable<void> read_loop();
  void flush();
  void watch_partial_message();

  Server& server_;
  boost::asio::local::stream_protocol::socket socket_;
  uint64_t id_;
  proto::FrameParser parser_;
  std::vector<char> rbuf_;
  std::string out_;      // queued, not yet handed to the socket
  std::string sending_;  // handed to async_write, in flight
  bool writing_ = false;
  std::atomic<bool> closed_{false};
  CancelSource cancel_;
  bool close_when_flushed_ = false;
  boost::asio::steady_timer partial_timer_;
  bool partial_armed_ = false;
  uint64_t frames_done_ = 0;   // messages completed, to tell progress from a stall
  uint64_t partial_gen_ = 0;   // frames_done_ when the partial timer was armed
  size_t pending_messages_ = 0;
  size_t pending_bytes_ = 0;
  bool paused_ = false;
  boost::asio::steady_timer resume_timer_;  // wakes a paused reader
};

}  // namespace hs::daemon
