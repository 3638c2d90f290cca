// One client connection: a reader coroutine that parses messages as bytes
// arrive, pauses while too much is in progress (backpressure), and notices
// a client that hangs up or stalls mid-message; and a writer that drains
// the output (output_queue.hpp, in the order of batch_order.hpp) with
// scatter/gather writes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/cancel.hpp"
#include "daemon/net/batch_order.hpp"
#include "daemon/net/conn_resources.hpp"
#include "daemon/net/limits.hpp"
#include "daemon/net/output_queue.hpp"
#include "daemon/net/response_text.hpp"
#include "proto/framing.hpp"

namespace hs::daemon::net {

class Session : public std::enable_shared_from_this<Session> {
 public:
  /// Handles one received message (a request, a notification or a batch)
  /// in `framing`; its answers go back through send() or the batch calls.
  /// `ticket` is held until the message's last answer is queued (track()).
  /// Given by whoever makes the sessions: the rpc layer's dispatcher.
  using OnFrame = std::function<void(const std::shared_ptr<Session>& session, proto::Framing framing,
                                     boost::json::value msg, std::shared_ptr<void> ticket)>;
  using OnClose = std::function<void(uint64_t id)>;
  Session(boost::asio::local::stream_protocol::socket socket, uint64_t id, const Limits& limits, OnFrame on_frame,
          OnClose on_close);

  /// Starts reading. The session keeps itself alive until it closes.
  void start();

  /// Queues one message (not part of a batch).
  void send(ResponseText msg, proto::Framing framing);
  /// A batch's answers go out as one JSON array; on a bare-JSON connection
  /// they stream as they complete ("[", a, ",", b, "]"). Other messages'
  /// answers that complete meanwhile wait until the array is closed.
  uint64_t batch_begin(proto::Framing framing);
  void batch_add(uint64_t batch, ResponseText msg);
  /// The batch's last answer is in (a batch of only notifications sends
  /// nothing).
  void batch_end(uint64_t batch);

  /// Closes now; queued output is dropped.
  void close();
  /// Stops reading; closes once everything received is answered and sent.
  void close_when_flushed();

  /// Marks a received message as in progress until the returned ticket is
  /// destroyed (when its last answer is queued). While too much is in
  /// progress the session stops reading: a client cannot queue unbounded
  /// work by pipelining faster than it is answered.
  std::shared_ptr<void> track(size_t bytes);

  uint64_t id() const { return id_; }
  /// Cancelled when the connection closes (or the daemon stops).
  CancelToken cancel_token() const { return cancel_.token(); }
  /// Cancels this connection's long work without closing it (shutdown).
  void cancel_work() { cancel_.cancel(); }
  /// What the connection holds (subscriptions, locks): released on close.
  ConnResources& resources() { return resources_; }
  /// The client's pid when it connected (SO_PEERCRED), -1 when unknown.
  long peer_pid() const { return peer_pid_; }
  bool closed() const { return closed_.load(std::memory_order_relaxed); }
  /// Output queued and not yet written, counting each shared text once.
  size_t unsent_bytes() const { return out_.unsent_bytes(); }

  /// The framing of the connection's most recent message (bare JSON before
  /// any): what notifications the daemon sends on its own use.
  proto::Framing framing() const { return last_framing_; }
  /// Called on the loop after each completed write while the connection is
  /// open: the notification layer (daemon/live) moves more of its mailbox
  /// into the output then, only while unsent_bytes() is small.
  void set_on_written(std::function<void()> cb) { on_written_ = std::move(cb); }

  /// Called on the loop each time bytes arrive from the client (the
  /// server's least-recently-heard order).
  void set_on_input(std::function<void()> cb) { on_input_ = std::move(cb); }
  /// When the client last sent a byte (or connected).
  std::chrono::steady_clock::time_point last_input() const { return last_input_; }
  /// Whether the client has sent a byte yet.
  bool heard_from() const { return heard_from_; }
  /// Nothing would be lost by closing it: no lock, subscription or other
  /// resource, no message in progress or started, no output owed. O(1).
  bool holds_nothing() const;

 private:
  struct Ticket;
  /// Messages whose answers are still owed; past either bound, reading pauses.
  static constexpr size_t kMaxPendingMessages = 64;
  /// Unsent output past which reading pauses (backpressure, not an error).
  static constexpr size_t kOutputWatermark = size_t{1} << 20;

  bool too_busy() const;
  void message_done(size_t bytes);
  void maybe_resume();
  void maybe_finish_drain();

  boost::asio::awaitable<void> read_loop();
  void handle_frame(proto::Frame frame);
  void framing_failed();
  void watch_partial_message();
  void watch_hangup();
  /// The client can no longer read (it closed, or a write found it gone):
  /// output stops, input goes on to its end.
  void peer_left();
  /// True when the client closed its socket entirely.
  bool peer_gone();

  // Output.
  /// Closes the connection when its unread output is past the cap.
  bool over_cap();
  void flush();
  void after_write(boost::system::error_code ec);

  boost::asio::local::stream_protocol::socket socket_;
  uint64_t id_;
  long peer_pid_;
  const Limits& limits_;
  OnFrame on_frame_;
  OnClose on_close_;
  proto::FrameParser parser_;
  std::vector<char> rbuf_;

  OutputQueue out_;
  BatchOrder order_{out_};
  bool writing_ = false;  // a gathered write is in flight

  std::atomic<bool> closed_{false};
  CancelSource cancel_;
  ConnResources resources_;
  proto::Framing last_framing_ = proto::Framing::ndjson;
  std::function<void()> on_written_;
  std::function<void()> on_input_;
  std::chrono::steady_clock::time_point last_input_ = std::chrono::steady_clock::now();
  bool heard_from_ = false;
  bool draining_ = false;  // input ended (or shutdown): answer, flush, close
  boost::asio::steady_timer partial_timer_;
  bool partial_armed_ = false;
  uint64_t frames_done_ = 0;   // messages completed, to tell progress from a stall
  uint64_t partial_gen_ = 0;   // frames_done_ when the partial timer was armed
  size_t pending_messages_ = 0;
  size_t pending_bytes_ = 0;
  bool paused_ = false;
  bool hangup_armed_ = false;
  bool output_gone_ = false;  // peer_left(): answers are dropped, reading goes on
  boost::asio::steady_timer resume_timer_;  // wakes a paused reader
};

}  // namespace hs::daemon::net
