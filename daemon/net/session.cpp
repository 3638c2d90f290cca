#include "daemon/net/session.hpp"

#include <poll.h>

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log.hpp"
#include "daemon/net/co_spawn_logged.hpp"
#include "daemon/net/peer_cred.hpp"
#include "proto/jsonrpc.hpp"

namespace hs::daemon::net {
namespace asio = boost::asio;
namespace json = boost::json;

Session::Session(asio::local::stream_protocol::socket socket, uint64_t id, const Limits& limits, OnFrame on_frame,
                 OnClose on_close)
    : socket_(std::move(socket)),
      id_(id),
      peer_pid_(net::peer_pid(socket_.native_handle())),
      limits_(limits),
      on_frame_(std::move(on_frame)),
      on_close_(std::move(on_close)),
      parser_(limits.max_message_bytes),
      rbuf_(64 * 1024),
      partial_timer_(socket_.get_executor()),
      resume_timer_(socket_.get_executor()) {}

struct Session::Ticket {
  Ticket(std::shared_ptr<Session> s, size_t b) : session(std::move(s)), bytes(b) {}
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  ~Ticket() { session->message_done(bytes); }
  std::shared_ptr<Session> session;
  size_t bytes;
};

std::shared_ptr<void> Session::track(size_t bytes) {
  ++pending_messages_;
  pending_bytes_ += bytes;
  return std::make_shared<Ticket>(shared_from_this(), bytes);
}

bool Session::too_busy() const {
  return pending_messages_ >= kMaxPendingMessages || pending_bytes_ >= limits_.max_message_bytes ||
         unsent_bytes() >= std::min(kOutputWatermark, limits_.max_output_bytes);
}

void Session::message_done(size_t bytes) {
  --pending_messages_;
  pending_bytes_ -= bytes;
  maybe_resume();
  maybe_finish_drain();
}

void Session::maybe_resume() {
  // After close nothing is waiting to read (and during teardown the server
  // may be gone): only a live, paused reader needs waking.
  if (closed_ || !paused_ || too_busy()) return;
  resume_timer_.cancel();
}

bool Session::holds_nothing() const {
  return resources_.size() == 0 && pending_messages_ == 0 && !writing_ && out_.empty() && order_.idle() &&
         !parser_.mid_message() && !parser_.has_buffered() && !draining_ && !closed_;
}

void Session::start() {
  // A reader that throws must still free its connection slot.
  spawn_logged(socket_.get_executor(), [self = shared_from_this()] { return self->read_loop(); },
               "connection " + std::to_string(id_) + " reader", [weak = weak_from_this()] {
                 if (auto s = weak.lock()) s->close();
               });
}

asio::awaitable<void> Session::read_loop() {
  auto self = shared_from_this();
  for (;;) {
    if (closed_ || draining_) co_return;
    if (too_busy()) {
      // Stop reading until answers go out. The stall is ours, not the
      // client's: the partial-message timeout does not run meanwhile.
      paused_ = true;
      partial_timer_.cancel();
      partial_armed_ = false;
      watch_hangup();
      resume_timer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await resume_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      paused_ = false;
      continue;
    }
    if (auto frame = parser_.next()) {
      ++frames_done_;
      handle_frame(std::move(*frame));
      // More messages already buffered: let other connections run first,
      // so that one client's pipelined burst interleaves with everyone.
      if (parser_.has_buffered()) co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      continue;
    }
    if (parser_.error() != proto::FrameError::none) {
      framing_failed();
      co_return;
    }
    watch_partial_message();
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(rbuf_), asio::as_tuple(asio::use_awaitable));
    if (closed_) co_return;
    // A Unix socket whose peer closed with our answers unread in its queue
    // reads what the peer sent and then ECONNRESET, not EOF: both are the
    // end of input, after every byte the client sent.
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      // End of input (shutdown(SHUT_WR), nc -N, socat): a message left
      // unfinished gets its parse error; everything received is handled.
      if (ec == asio::error::connection_reset || peer_gone()) peer_left();
      if (auto last = parser_.end_of_input()) handle_frame(std::move(*last));
      // A client that closed its socket entirely, not just its sending
      // side, reads no answer: everything it sent is handled (its changes
      // go on in the sequencer), so close now, which cancels the work that
      // would only have answered it.
      if (output_gone_) {
        close();
        co_return;
      }
      close_when_flushed();  // watches for a hang-up while it drains
      co_return;
    }
    if (ec) {
      close();
      co_return;
    }
    parser_.feed({rbuf_.data(), n});
    last_input_ = std::chrono::steady_clock::now();
    heard_from_ = true;
    if (on_input_) on_input_();
  }
}

void Session::handle_frame(proto::Frame frame) {
  last_framing_ = frame.framing;
  if (!frame.ok()) {
    ResponseText r;
    proto::append_error(r.head, nullptr, proto::RpcError{proto::code::parse_error, std::move(frame.parse_error), {}});
    send(std::move(r), frame.framing);
    return;
  }
  auto ticket = track(frame.size);
  on_frame_(shared_from_this(), frame.framing, std::move(frame.value), std::move(ticket));
}

void Session::framing_failed() {
  proto::RpcError err;
  if (parser_.error() == proto::FrameError::too_large) {
    err.code = proto::code::message_too_large;
    err.message = "Message too large: the limit is " + std::to_string(limits_.max_message_bytes) + " bytes";
    err.data = json::object{{"limit", limits_.max_message_bytes}};
  } else {
    err.code = proto::code::parse_error;
    err.message = "Parse error: LSP headers without a valid Content-Length";
  }
  log::warn("connection " + std::to_string(id_) + ": " + err.message + "; closing it");
  // The stream cannot be resynchronised after a framing error.
  ResponseText r;
  proto::append_error(r.head, nullptr, err);
  send(std::move(r), parser_.framing());
  close_when_flushed();
}

void Session::watch_hangup() {
  // A paused or draining reader would not see the client go away until the
  // work it left behind is done. A peer that closed its socket raises
  // POLLHUP without any read. That ends the output, never the input: the
  // bytes it sent before are still queued, and a paused reader goes on to
  // read them (peer_left wakes it).
  if (hangup_armed_ || closed_ || output_gone_) return;
  hangup_armed_ = true;
  socket_.async_wait(asio::socket_base::wait_error, [self = shared_from_this()](boost::system::error_code ec) {
    self->hangup_armed_ = false;
    if (ec || self->closed_ || self->output_gone_) return;
    if (self->peer_gone()) {
      log::debug("connection " + std::to_string(self->id_) + ": the client hung up");
      self->peer_left();
    }
  });
}

void Session::peer_left() {
  if (output_gone_ || closed_) return;
  output_gone_ = true;
  // Nobody reads what is queued or would be: drop it, and let the reader
  // go on (unsent output no longer holds it back).
  out_.clear();
  order_.clear();
  // Work that would only answer (hash.files, a drift check) stops; a
  // change never looks at this token. Locks and subscriptions go now, not
  // when the last message is handled: a lock.acquire parsed from here on
  // is refused by the released resources.
  cancel_.cancel();
  resources_.release_all();
  if (draining_) {
    // Input ended already (or could not be read on): nothing more to
    // handle, and nothing left to send.
    close();
    return;
  }
  resume_timer_.cancel();
}

bool Session::peer_gone() {
  // POLLHUP on a Unix stream socket: both directions are shut, i.e. the
  // peer closed its socket. After only shutdown(SHUT_WR) (nc -N, socat)
  // there is no POLLHUP: that client still reads its answers.
  pollfd p{socket_.native_handle(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

void Session::watch_partial_message() {
  // A closed session must not leave a timer behind: it would hold the event
  // loop (and so the shutdown) for the whole timeout.
  if (closed_ || draining_) return;
  if (!parser_.mid_message()) {
    if (partial_armed_) partial_timer_.cancel();
    partial_armed_ = false;
    return;
  }
  if (partial_armed_ && partial_gen_ == frames_done_) return;  // same message, still running
  partial_armed_ = true;
  partial_gen_ = frames_done_;
  partial_timer_.expires_after(std::chrono::milliseconds(limits_.message_timeout_ms));
  partial_timer_.async_wait([self = shared_from_this(), gen = partial_gen_](boost::system::error_code ec) {
    if (ec || self->closed_ || !self->partial_armed_ || self->partial_gen_ != gen) return;
    if (self->frames_done_ != gen || !self->parser_.mid_message()) return;
    log::warn("connection " + std::to_string(self->id_) + ": message not completed within " +
              std::to_string(self->limits_.message_timeout_ms) + " ms; closing it");
    self->close();
  });
}

// ---- output ----------------------------------------------------------------

bool Session::over_cap() {
  // The cap is on bytes serialized for this connection and not yet read
  // (OutputQueue::over). Reading pauses long before this (too_busy), so
  // only the answers to messages already received can take a connection
  // past it.
  if (!out_.over(limits_.max_output_bytes)) return false;
  if (peer_gone()) {
    // Not a client that does not read: one that left, whose first failed
    // write has not completed yet. Its output goes; its input is still read
    // to the end (PROTOCOL.md, "Hang-up"), which closing would drop.
    peer_left();
    return true;
  }
  log::warn("connection " + std::to_string(id_) + ": more than " + std::to_string(limits_.max_output_bytes) +
            " bytes of output unread; closing it");
  close();
  return true;
}

void Session::send(ResponseText msg, proto::Framing framing) {
  if (closed_ || output_gone_) return;  // an answer nobody can read is dropped
  out_.hold(msg);
  if (over_cap()) return;
  if (order_.send(std::move(msg), framing)) flush();
}

uint64_t Session::batch_begin(proto::Framing framing) { return order_.begin(framing); }

void Session::batch_add(uint64_t id, ResponseText msg) {
  if (closed_ || output_gone_ || !order_.contains(id)) return;
  out_.hold(msg);
  if (over_cap()) return;
  if (order_.add(id, std::move(msg))) flush();
}

void Session::batch_end(uint64_t id) {
  if (closed_ || output_gone_ || !order_.end(id)) return;
  flush();
  maybe_finish_drain();
}

void Session::flush() {
  if (writing_ || closed_ || output_gone_) return;
  if (out_.empty()) {
    maybe_finish_drain();
    return;
  }
  writing_ = true;
  asio::async_write(socket_, out_.gather(), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->after_write(ec);
  });
}

void Session::after_write(boost::system::error_code ec) {
  writing_ = false;
  if (closed_ || output_gone_) return;
  if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
    // The client is gone (or reads no more): stop writing, never reading.
    // What it sent before it went is still handled, whatever this answer
    // was (PROTOCOL.md, "Hang-up").
    log::debug("connection " + std::to_string(id_) + ": answer undeliverable (" + ec.message() + "); dropping output");
    peer_left();
    return;
  }
  if (ec) {
    close();
    return;
  }
  out_.written();
  maybe_resume();
  flush();
  if (on_written_ && !closed_) on_written_();
}

void Session::maybe_finish_drain() {
  if (!draining_ || closed_ || writing_ || !out_.empty() || pending_messages_ != 0 || !order_.idle()) return;
  close();
}

void Session::close_when_flushed() {
  if (closed_) return;
  draining_ = true;
  partial_timer_.cancel();
  partial_armed_ = false;
  resume_timer_.cancel();
  // Stop reading now (a reader waiting for bytes sees end of input).
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_receive, ignored);
  if (output_gone_) {
    close();
    return;
  }
  maybe_finish_drain();
  // Whatever is still owed (a lock wait, a slow hash) may outlast the
  // client: its hang-up must still release what it holds.
  watch_hangup();
}

void Session::close() {
  if (closed_) return;
  closed_.store(true);
  cancel_.cancel();  // its long work (hashing) stops at the next piece
  partial_timer_.cancel();
  resume_timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  resources_.release_all();
  // on_written_ stays: close() may run from inside it (a send over the
  // output cap), and after_write never calls it once closed.
  // Whatever is queued or held dies with the connection; chunks a write
  // still points at stay until its (aborted) completion.
  out_.clear();
  order_.clear();
  if (on_close_) {
    auto cb = std::move(on_close_);
    on_close_ = nullptr;
    cb(id_);
  }
}

}  // namespace hs::daemon::net
