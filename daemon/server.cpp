#include "daemon/server.hpp"

#include <unistd.h>

#include <boost/json/object.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/store/load.hpp"
#include "daemon/session.hpp"
#include "daemon/spawn.hpp"

namespace hs::daemon {
namespace asio = boost::asio;
using asio::local::stream_protocol;

Server::Server(asio::io_context& io, const Options& opts, store::StateStore& store, ListeningSocket socket)
    : io_(io),
      opts_(opts),
      hasher_(opts.hash_workers != 0 ? opts.hash_workers : Hasher::default_workers()),
      files_(io, FileWatch::Config{opts.max_watches}),
      locks_(io, opts.limits.max_locks),
      seq_(io, store),
      watch_(io, store.dir(), store::kStateFileName, [this] { seq_.check_disk(); }),
      state_dir_(store.dir()),
      ctx_{io, seq_, hasher_, files_, locks_, opts, store.state_path(), socket.path, iso_local(Clock::now()),
           std::chrono::steady_clock::now(), [this] { request_shutdown("daemon.shutdown was called"); },
           /*stopping=*/false, /*pending_jobs=*/0, /*on_jobs_done=*/{}},
      listening_(std::move(socket)),
      acceptor_(io, stream_protocol(), listening_.fd.release()),
      signals_(io, SIGTERM, SIGINT),
      grace_timer_(io),
      watchdog_timer_(io) {}

Server::~Server() {
  // Before the lock table and the subscriptions it speaks to.
  ctx_.triggers = nullptr;
  triggers_.reset();
  remove_if_ours(listening_);
}

void Server::start_triggers(const std::string& state_dir, const std::string& socket_path) {
  triggers::Service::Config cfg;
  cfg.state_dir = state_dir;
  cfg.socket_path = socket_path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) cfg.environ.emplace_back(*e);
  cfg.watch.max_watches = opts_.max_watches;
  triggers_ = std::make_unique<triggers::Service>(io_, locks_, std::move(cfg),
                                                  [this](const char* method, boost::json::object params) {
                                                    subs_.on_trigger(method, params);
                                                  });
  if (auto st = triggers_->start(); !st) {
    // The state is served all the same; trigger.* say why they are not.
    log::error("triggers are off: " + st.error().message());
    triggers_.reset();
    return;
  }
  ctx_.triggers = triggers_.get();
}

void Server::start() {
  ctx_.subs = &subs_;
  subs_.start();
  watch_.start();
  start_triggers(state_dir_, ctx_.socket_path);
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (!ec) request_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  // Neither loop may die quietly: a daemon that accepts nothing while its
  // watchdog reports healthy is worse than one that stops.
  spawn_logged(io_, accept_loop(), "the accept loop", [this] { fail("the accept loop failed"); });
  if (auto every = service::watchdog_interval(); every.count() > 0) {
    log::info("watchdog: keep-alive every " + std::to_string(every.count() / 1000) + " ms");
    spawn_logged(io_, watchdog_loop(every), "the watchdog", [this] { fail("the watchdog failed"); });
  }
}

void Server::fail(std::string_view why) {
  failed_ = true;
  request_shutdown(why);
}

asio::awaitable<void> Server::watchdog_loop(std::chrono::microseconds every) {
  // Runs on the event loop itself: if the loop hangs, the keep-alives stop
  // and the service manager restarts us, which is the point.
  while (!ctx_.stopping) {
    service::watchdog();
    watchdog_timer_.expires_after(every);
    co_await watchdog_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Server::accept_loop() {
  const uid_t me = ::geteuid();
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ctx_.stopping) co_return;
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
    if (sessions_.size() >= opts_.limits.max_connections) {
      log::warn("refused a connection: " + std::to_string(sessions_.size()) + " open, the limit is " +
                std::to_string(opts_.limits.max_connections));
      continue;
    }
    auto s = std::make_shared<Session>(ctx_, std::move(sock), ++next_id_, opts_.limits,
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

void Server::request_shutdown(std::string_view why) {
  if (ctx_.stopping) return;
  ctx_.stopping = true;
  log::info(std::string("shutting down (") + std::string(why) + ")");
  service::stopping(std::string("shutting down (") + std::string(why) + ")");
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  signals_.cancel(ignored);
  watchdog_timer_.cancel();
  watch_.stop();
  subs_.stop();
  files_.stop();
  // A hash in progress (a terabyte, say) must not hold the stop: its
  // request is answered -32000 instead.
  hasher_.cancel_all();
  // Runs in progress get SIGTERM now (their groups SIGKILL 5 s later);
  // what is owed is saved before the sessions close.
  if (triggers_) {
    triggers_->shutdown([this] { stop_step_done(); });
  } else {
    stop_step_done();
  }
  // Waiters get -32000 now; holders keep their locks until their
  // connections close below.
  locks_.shutdown();
  // Wait for every change received so far to be written, and every job on
  // the blocking pool to be answered; then flush and close the sessions.
  // Posted, so that the request being dispatched now (a batch holding
  // daemon.shutdown, say) finishes queueing its answers first.
  seq_.when_drained([this] {
    if (ctx_.pending_jobs == 0) {
      asio::post(io_, [this] { stop_step_done(); });
      return;
    }
    ctx_.on_jobs_done = [this] {
      ctx_.on_jobs_done = nullptr;
      asio::post(io_, [this] { stop_step_done(); });
    };
  });
}

void Server::stop_step_done() {
  if (--stop_steps_ == 0) close_sessions();
}

void Server::close_sessions() {
  drained_ = true;
  // A client that does not read its last answers gets a short grace. Armed
  // first: closing the sessions below may finish the shutdown (and cancel
  // this timer) at once.
  grace_timer_.expires_after(std::chrono::seconds(2));
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
  if (!ctx_.stopping || !drained_ || !sessions_.empty() || finished_) return;
  finished_ = true;
  grace_timer_.cancel();
  remove_if_ours(listening_);
  log::info("stopped");
}

}  // namespace hs::daemon
