#include "daemon/net/server.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.hpp"
#include "daemon/net/co_spawn_logged.hpp"
#include "daemon/net/peer_cred.hpp"

namespace hs::daemon::net {
namespace asio = boost::asio;
using asio::local::stream_protocol;

Server::Server(asio::io_context& io, const Limits& limits, ListeningSocket socket, Session::OnFrame on_frame)
    : io_(io),
      limits_(limits),
      on_frame_(std::move(on_frame)),
      listening_(std::move(socket)),
      acceptor_(io, stream_protocol(), listening_.fd.release()),
      grace_timer_(io) {}

Server::~Server() { remove_if_ours(listening_); }

void Server::start(std::function<void()> on_failure) {
  spawn_logged(io_, accept_loop(), "the accept loop", std::move(on_failure));
}

void Server::stop_accepting() {
  accepting_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> Server::accept_loop() {
  const uid_t me = ::geteuid();
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!accepting_) co_return;
    if (ec) {
      log::warn("accept: " + ec.message());
      // Out of descriptors: pause instead of spinning on the same error.
      grace_timer_.expires_after(std::chrono::milliseconds(100));
      co_await grace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Before reading a byte: only our own user may talk to this daemon.
    long uid = peer_uid(sock.native_handle());
    if (uid != static_cast<long>(me)) {
      log::warn("refused a connection from uid " + std::to_string(uid));
      continue;  // `sock` closes as it goes out of scope
    }
    if (sessions_.size() >= limits_.max_connections) {
      log::warn("refused a connection: " + std::to_string(sessions_.size()) + " open, the limit is " +
                std::to_string(limits_.max_connections));
      continue;
    }
    auto s = std::make_shared<Session>(std::move(sock), ++next_id_, limits_, on_frame_,
                                       [this](uint64_t id) { session_closed(id); });
    sessions_.emplace(s->id(), s);
    log::debug("connection " + std::to_string(s->id()) + " opened");
    s->start();
  }
}

void Server::session_closed(uint64_t id) {
  sessions_.erase(id);
  log::debug("connection " + std::to_string(id) + " closed");
  maybe_finish();
}

void Server::close_sessions(std::chrono::milliseconds grace, std::function<void()> done) {
  closing_ = true;
  on_closed_ = std::move(done);
  // A client that does not read its last answers gets a short grace. Armed
  // first: closing the sessions below may finish (and cancel this timer) at
  // once.
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    for (auto& [id, weak] : std::unordered_map(sessions_)) {
      if (auto s = weak.lock()) s->close();
    }
  });
  // Everything accepted before the stop is answered; now flush and close.
  for (auto& [id, weak] : std::unordered_map(sessions_)) {
    if (auto s = weak.lock()) s->close_when_flushed();
  }
  maybe_finish();
}

void Server::maybe_finish() {
  if (!closing_ || !sessions_.empty() || finished_) return;
  finished_ = true;
  grace_timer_.cancel();
  remove_if_ours(listening_);
  if (on_closed_) on_closed_();
}

}  // namespace hs::daemon::net
