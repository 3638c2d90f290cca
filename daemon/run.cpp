#include "daemon/run.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <cerrno>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/socket_path.hpp"
#include "common/state_dir.hpp"
#include "common/version.hpp"
#include "daemon/hashing/drift_checker.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/hashing/jobs.hpp"
#include "daemon/live/subscriptions.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/net/co_spawn_logged.hpp"
#include "daemon/net/listener.hpp"
#include "daemon/net/server.hpp"
#include "daemon/rpc/context.hpp"
#include "daemon/rpc/dispatcher.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/store/load.hpp"
#include "daemon/store/state_store.hpp"
#include "daemon/triggers/service.hpp"
#include "daemon/watch/file_watch.hpp"
#include "daemon/watch/state_watch.hpp"

namespace hs::daemon {
namespace {
namespace asio = boost::asio;

// The daemon's parts, wired together: each layer gets what it uses, and
// the shutdown below stops them in the one order that loses nothing.
class Daemon {
 public:
  Daemon(asio::io_context& io, const Options& opts, store::StateStore& store, net::ListeningSocket socket)
      : io_(io),
        hasher_(opts.hash_workers != 0 ? opts.hash_workers : hashing::Hasher::default_workers()),
        jobs_(io, hasher_),
        files_(io, watch::FileWatch::Config{opts.max_watches}),
        drift_(files_, jobs_),
        locks_(io, opts.max_locks),
        seq_(io, store),
        state_watch_(io, store.dir(), store::kStateFileName, [this] { seq_.check_disk(); }),
        state_dir_(store.dir()),
        max_watches_(opts.max_watches),
        ctx_{io,
             seq_,
             jobs_,
             drift_,
             files_,
             locks_,
             opts.limits,
             store.state_path(),
             socket.path,
             iso_local(Clock::now()),
             std::chrono::steady_clock::now(),
             [this] { request_shutdown("daemon.shutdown was called"); },
             /*stopping=*/false,
             &subs_},
        subs_(io, seq_, files_, drift_),
        server_(io, opts.limits, std::move(socket),
                [this](const std::shared_ptr<net::Session>& session, proto::Framing framing, boost::json::value msg,
                       std::shared_ptr<void> ticket) {
                  rpc::dispatch(ctx_, session, framing, std::move(msg), std::move(ticket));
                }),
        signals_(io, SIGTERM, SIGINT),
        watchdog_timer_(io) {}

  /// Before the lock table and the subscriptions the triggers speak to.
  ~Daemon() {
    ctx_.triggers = nullptr;
    triggers_.reset();
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Starts accepting and handling signals. io.run() returns after shutdown.
  void start();
  /// True when the daemon stopped because a loop of its own failed: the
  /// process then exits with an error status.
  bool failed() const { return failed_; }

 private:
  void request_shutdown(std::string_view why);
  void start_triggers();
  /// One of what a stop waits for is done (the changes written and the
  /// jobs answered; the triggers' runs ended and what is owed saved): the
  /// sessions close after the last.
  void stop_step_done();
  void fail(std::string_view why);
  asio::awaitable<void> watchdog_loop(std::chrono::microseconds every);

  asio::io_context& io_;
  hashing::Hasher hasher_;
  hashing::Jobs jobs_;
  watch::FileWatch files_;
  hashing::DriftChecker drift_;
  locks::LockTable locks_;
  sequencer::Sequencer seq_;
  watch::StateWatch state_watch_;
  std::string state_dir_;
  size_t max_watches_;
  rpc::Context ctx_;
  live::Subscriptions subs_;
  std::unique_ptr<triggers::Service> triggers_;
  int stop_steps_ = 2;
  net::Server server_;
  asio::signal_set signals_;
  asio::steady_timer watchdog_timer_;
  bool failed_ = false;
};

void Daemon::start_triggers() {
  triggers::Service::Config cfg;
  cfg.state_dir = state_dir_;
  cfg.socket_path = ctx_.socket_path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) cfg.environ.emplace_back(*e);
  cfg.watch.max_watches = max_watches_;
  triggers_ = std::make_unique<triggers::Service>(
      io_, locks_, std::move(cfg),
      [this](const char* method, boost::json::object params) { subs_.on_trigger(method, params); });
  if (auto st = triggers_->start(); !st) {
    // The state is served all the same; trigger.* say why they are not.
    log::error("triggers are off: " + st.error().message());
    triggers_.reset();
    return;
  }
  ctx_.triggers = triggers_.get();
}

void Daemon::start() {
  subs_.start();
  state_watch_.start();
  start_triggers();
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (!ec) request_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  // Neither loop may die quietly: a daemon that accepts nothing while its
  // watchdog reports healthy is worse than one that stops.
  server_.start([this] { fail("the accept loop failed"); });
  if (auto every = service::watchdog_interval(); every.count() > 0) {
    log::info("watchdog: keep-alive every " + std::to_string(every.count() / 1000) + " ms");
    net::spawn_logged(io_, watchdog_loop(every), "the watchdog", [this] { fail("the watchdog failed"); });
  }
}

void Daemon::fail(std::string_view why) {
  failed_ = true;
  request_shutdown(why);
}

asio::awaitable<void> Daemon::watchdog_loop(std::chrono::microseconds every) {
  // Runs on the event loop itself: if the loop hangs, the keep-alives stop
  // and the service manager restarts us, which is the point.
  while (!ctx_.stopping) {
    service::watchdog();
    watchdog_timer_.expires_after(every);
    co_await watchdog_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// The graceful stop (SIGTERM, SIGINT or daemon.shutdown; idempotent): stop
// accepting, answer -32000 to anything newer, finish the queued changes and
// the write in flight, flush and close the sessions, remove the socket if it
// is still ours. The order matters, step by step.
void Daemon::request_shutdown(std::string_view why) {
  if (ctx_.stopping) return;
  ctx_.stopping = true;
  log::info(std::string("shutting down (") + std::string(why) + ")");
  service::stopping(std::string("shutting down (") + std::string(why) + ")");
  server_.stop_accepting();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  watchdog_timer_.cancel();
  state_watch_.stop();
  seq_.stop();
  subs_.stop();
  files_.stop();
  drift_.stop();
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
    jobs_.when_idle([this] { asio::post(io_, [this] { stop_step_done(); }); });
  });
}

void Daemon::stop_step_done() {
  if (--stop_steps_ != 0) return;
  server_.close_sessions(std::chrono::seconds(2), [] { log::info("stopped"); });
}

// Tells a client that started us how start-up ended (see Options::ready_fd).
void report_ready(int fd, const std::string& line) {
  if (fd < 0) return;
  std::string msg = line + "\n";
  // Best effort: a client that gave up waiting has closed its end (EPIPE,
  // ignored because SIGPIPE is).
  [[maybe_unused]] ssize_t n = ::write(fd, msg.data(), msg.size());
  ::close(fd);
}

int fail(const Options& opts, int code, const std::string& what) {
  log::error(what);
  report_ready(opts.ready_fd, "ERROR " + what);
  return code;
}

int store_exit_code(const Error& e) {
  switch (e.code) {
    case Errc::busy: return exit_code::already_running;
    case Errc::unsupported: return exit_code::config;
    case Errc::os: return exit_code::cant_create;
    case Errc::not_regular: return exit_code::not_regular;
    case Errc::unsafe_state_dir: return exit_code::no_permission;
    default: return exit_code::failure;
  }
}

int socket_path_exit_code(const Error& e) {
  switch (e.code) {
    case Errc::unsafe_socket_dir: return exit_code::no_permission;  // the private runtime dir
    case Errc::os: return exit_code::os_error;
    default: return exit_code::usage;  // too long for sun_path; no home dir
  }
}

int listen_exit_code(const Error& e) {
  switch (e.code) {
    case Errc::busy: return exit_code::already_running;
    case Errc::unsafe_socket_dir: return exit_code::no_permission;
    case Errc::invalid_argument: return exit_code::usage;  // e.g. a passed-in socket without a path
    case Errc::os: return exit_code::os_error;
    default: return exit_code::failure;
  }
}

}  // namespace

int run(const Options& opts) {
  log::set_level(opts.log_level);
  // Set before anything can fail, so that a failure report to a readiness
  // pipe whose reader went away costs EPIPE, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  if (opts.detach) {
    // First thing, while this process has one thread and little memory to
    // copy. The child keeps every descriptor (the readiness pipe too); the
    // starter reaps the parent, which exits at once.
    const pid_t pid = ::fork();
    if (pid < 0) return fail(opts, exit_code::os_error, "cannot detach: " + os_error("fork", "", errno).message());
    if (pid > 0) ::_exit(exit_code::ok);
    ::setpgid(0, 0);  // leads its own group: kill -- -PID stops it alone
  }
  auto dir = resolve_state_dir(opts.state_dir);
  if (!dir) return fail(opts, exit_code::usage, "cannot find the state dir: " + dir.error().message());
  auto socket_path = resolve_socket_path(opts.socket, *dir);
  if (!socket_path) {
    const Error& e = socket_path.error();
    return fail(opts, socket_path_exit_code(e),
                e.code == Errc::invalid_argument ? "socket " + e.detail : "cannot find the socket: " + e.message());
  }

  std::vector<std::string> warnings;
  store::StoreOptions so;
  so.dir = *dir;
  so.schema = opts.schema;
  auto store = store::StateStore::open(so, &warnings);
  for (const auto& w : warnings) log::warn(w);
  if (!store) return fail(opts, store_exit_code(store.error()), "cannot open the state: " + store.error().message());

  // Under the state dir's lock from here on; listen_unix adds the socket
  // path's own lock, so that the stale-socket probe and the bind cannot race
  // a daemon on another state dir either. A socket passed in by systemd or
  // launchd is used as it is.
  auto inherited = service::activated_socket();
  if (!inherited) return fail(opts, exit_code::usage, "cannot use the activated socket: " + inherited.error().message());
  auto listening = *inherited >= 0 ? net::adopt_socket(*inherited) : net::listen_unix(*socket_path);
  if (!listening) {
    return fail(opts, listen_exit_code(listening.error()), "cannot listen: " + listening.error().message());
  }

  if (*inherited >= 0 && !listening->path.empty() && listening->path != *socket_path) {
    // Clients find a daemon by the socket rule: one the service manager
    // listens for elsewhere is reached only by clients told its path.
    log::warn("serving the service manager's socket " + listening->path + "; clients of this state dir look for " +
              *socket_path + " (set HARNESSSYNC_SOCKET, or see README.md, \"Running it as a service\")");
  }

  // SIGPIPE is ignored (above): peers that go away cost an EPIPE on their
  // socket. A file size limit must fail the write (error 1), not kill us.
  ::signal(SIGXFSZ, SIG_IGN);
  boost::asio::io_context io(1);
  const std::string listening_path = listening->path;
  Daemon daemon(io, opts, **store, std::move(*listening));
  daemon.start();
  report_ready(opts.ready_fd, "READY");
  const std::string serving = "serving " + (*store)->state_path() + " on " + listening_path +
                              (*inherited >= 0 ? " (socket-activated)" : "");
  service::ready(serving);
  log::info("harnesssyncd " + std::string(kVersion) + " " + serving + " (pid " + std::to_string(::getpid()) + ")");
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      // A bug in one handler must not take every client down with it.
      log::error(std::string("unexpected error, continuing: ") + e.what());
    }
  }
  return daemon.failed() ? exit_code::failure : exit_code::ok;
}

}  // namespace hs::daemon
