#include "daemon/net/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.hpp"
#include "daemon/net/co_spawn_logged.hpp"
#include "daemon/net/peer_cred.hpp"
#include "proto/jsonrpc.hpp"

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
    if (sessions_.size() >= limits_.max_connections && !evict_idle()) {
      log::warn("refused a connection: " + std::to_string(sessions_.size()) + " open, the limit is " +
                std::to_string(limits_.max_connections) + ", and none is idle holding nothing");
      refuse(sock);
      continue;
    }
    auto s = std::make_shared<Session>(std::move(sock), ++next_id_, limits_, on_frame_,
                                       [this](uint64_t id) { session_closed(id); });
    const uint64_t id = s->id();
    sessions_.emplace(id, Entry{s, quiet_.insert(quiet_.end(), id)});
    s->set_on_input([this, id] { heard_from(id); });
    log::debug("connection " + std::to_string(s->id()) + " opened");
    s->start();
  }
}

void Server::heard_from(uint64_t id) {
  auto it = sessions_.find(id);
  if (it != sessions_.end()) quiet_.splice(quiet_.end(), quiet_, it->second.quiet);
}

bool Server::evict_idle() {
  // Walks from the least recently heard, passing over connections that
  // hold something or talked within the grace: at most every connection
  // (a pointer and a few fields each), and only when a client arrives at
  // the limit. Below it, an accept costs nothing here.
  const auto cutoff = std::chrono::steady_clock::now() - kIdleGrace;
  std::shared_ptr<Session> victim;
  for (uint64_t id : quiet_) {
    auto s = sessions_.at(id).session.lock();
    if (!s || !s->holds_nothing()) continue;
    if (!s->heard_from() || s->last_input() <= cutoff) {
      victim = std::move(s);
      break;
    }
  }
  if (!victim) return false;
  const auto quiet_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - victim->last_input());
  log::info("connection " + std::to_string(victim->id()) + ": closed, idle for " + std::to_string(quiet_ms.count()) +
            " ms and holding nothing, to let a new one in at the limit of " +
            std::to_string(limits_.max_connections));
  victim->close();  // session_closed() takes it out of sessions_
  return true;
}

void Server::refuse(stream_protocol::socket& sock) const {
  std::string line;
  proto::append_error(line, nullptr,
                      proto::RpcError{proto::code::over_limit,
                                      "Too many connections: the limit is " +
                                          std::to_string(limits_.max_connections) +
                                          " (--max-connections), and every one is busy",
                                      boost::json::object{{"limit", limits_.max_connections}}});
  line += '\n';
  // A fresh socket's buffer takes one line: never blocks, and a failure
  // (the client already left) changes nothing.
  const int fd = sock.native_handle();
  [[maybe_unused]] auto n = ::send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  // Closing with the client's request unread would make its read fail with
  // ECONNRESET before it sees the line: discard what it already sent.
  char sink[4096];
  for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
}

void Server::session_closed(uint64_t id) {
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    quiet_.erase(it->second.quiet);
    sessions_.erase(it);
  }
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
    for (auto& [id, entry] : std::unordered_map(sessions_)) {
      if (auto s = entry.session.lock()) s->close();
    }
  });
  // Everything accepted before the stop is answered; now flush and close.
  for (auto& [id, entry] : std::unordered_map(sessions_)) {
    if (auto s = entry.session.lock()) s->close_when_flushed();
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
