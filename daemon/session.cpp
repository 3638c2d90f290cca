#include "daemon/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include "common/log.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/server.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon {
namespace asio = boost::asio;
namespace json = boost::json;

Session::Session(Server& server, asio::local::stream_protocol::socket socket, uint64_t id)
    : server_(server),
      socket_(std::move(socket)),
      id_(id),
      parser_(server.options().limits.max_message_bytes),
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
  return pending_messages_ >= kMaxPendingMessages ||
         pending_bytes_ >= server_.options().limits.max_message_bytes;
}

void Session::message_done(size_t bytes) {
  --pending_messages_;
  pending_bytes_ -= bytes;
  // After close nothing is waiting to read (and during teardown the server
  // may be gone): only a live, paused reader needs waking.
  if (closed_ || !paused_) return;
  if (!too_busy()) resume_timer_.cancel();
}

void Session::start() {
  asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->read_loop(); },
                 asio::detached);
}

asio::awaitable<void> Session::read_loop() {
  auto self = shared_from_this();
  const auto& limits = server_.options().limits;
  while (!closed_ && !close_when_flushed_) {
    if (too_busy()) {
      // Stop reading until answers go out. The stall is ours, not the
      // client's: the partial-message timeout does not run meanwhile.
      paused_ = true;
      partial_timer_.cancel();
      partial_armed_ = false;
      resume_timer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await resume_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      paused_ = false;
      watch_partial_message();
      continue;
    }
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(rbuf_), asio::as_tuple(asio::use_awaitable));
    if (ec || closed_) break;
    parser_.feed({rbuf_.data(), n});
    while (!closed_ && !close_when_flushed_) {
      auto frame = parser_.next();
      if (!frame) break;
      ++frames_done_;
      auto ticket = track(frame->body.size());
      dispatch(server_.context(), self, std::move(*frame), std::move(ticket));
    }
    if (parser_.error() != proto::FrameError::none) {
      proto::RpcError err;
      if (parser_.error() == proto::FrameError::too_large) {
        err.code = proto::code::message_too_large;
        err.message = "Message too large: the limit is " + std::to_string(limits.max_message_bytes) + " bytes";
        err.data = json::object{{"limit", limits.max_message_bytes}};
      } else {
        err.code = proto::code::parse_error;
        err.message = "Parse error: LSP headers without a valid Content-Length";
      }
      log::warn("connection " + std::to_string(id_) + ": " + err.message + "; closing it");
      // The stream cannot be resynchronised after a framing error.
      send(proto::make_error(nullptr, err), parser_.framing());
      close_when_flushed();
      break;
    }
    watch_partial_message();
  }
  if (!close_when_flushed_) close();
}

void Session::watch_partial_message() {
  // A closed session must not leave a timer behind: it would hold the event
  // loop (and so the shutdown) for the whole timeout.
  if (closed_ || close_when_flushed_) return;
  if (!parser_.mid_message()) {
    if (partial_armed_) partial_timer_.cancel();
    partial_armed_ = false;
    return;
  }
  if (partial_armed_ && partial_gen_ == frames_done_) return;  // same message, still running
  partial_armed_ = true;
  partial_gen_ = frames_done_;
  partial_timer_.expires_after(std::chrono::milliseconds(server_.options().limits.message_timeout_ms));
  partial_timer_.async_wait([self = shared_from_this(), gen = partial_gen_](boost::system::error_code ec) {
    if (ec || self->closed_ || !self->partial_armed_ || self->partial_gen_ != gen) return;
    if (self->frames_done_ != gen || !self->parser_.mid_message()) return;
    log::warn("connection " + std::to_string(self->id_) + ": message not completed within " +
              std::to_string(self->server_.options().limits.message_timeout_ms) + " ms; closing it");
    self->close();
  });
}

void Session::send(const json::value& msg, proto::Framing framing) {
  if (closed_) return;
  const std::string body = proto::to_wire_json(msg);
  const size_t size = proto::framed_size(framing, body.size());
  if (out_.size() + sending_.size() + size > server_.options().limits.max_output_bytes) {
    log::warn("connection " + std::to_string(id_) + ": more than " +
              std::to_string(server_.options().limits.max_output_bytes) +
              " bytes of output unread; closing it");
    close();
    return;
  }
  proto::append_frame(out_, framing, body);  // framed straight into the output buffer
  flush();
}

void Session::flush() {
  if (writing_ || closed_) return;
  if (out_.empty()) {
    if (close_when_flushed_) close();
    return;
  }
  writing_ = true;
  std::swap(out_, sending_);
  asio::async_write(socket_, asio::buffer(sending_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->sending_.clear();
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->flush();
                    });
}

void Session::close_when_flushed() {
  close_when_flushed_ = true;
  resume_timer_.cancel();
  if (!writing_ && out_.empty()) {
    close();
    return;
  }
  // Stop reading now; the reader sees close_when_flushed_ and ends.
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_receive, ignored);
}

void Session::close() {
  if (closed_) return;
  closed_.store(true);
  cancel_.cancel();  // its long work (hashing) stops at the next piece
  partial_timer_.cancel();
  resume_timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  out_.clear();
  server_.session_closed(id_);
}

}  // namespace hs::daemon
