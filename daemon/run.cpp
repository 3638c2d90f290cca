#include "daemon/run.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>

#include "common/log.hpp"
#include "common/version.hpp"
#include "common/socket_path.hpp"
#include "common/state_dir.hpp"
#include "daemon/net/listener.hpp"
#include "daemon/net/server.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/store/state_store.hpp"

namespace hs::daemon {
namespace {

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
  net::Server server(io, opts, **store, std::move(*listening));
  server.start();
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
  return server.failed() ? exit_code::failure : exit_code::ok;
}

}  // namespace hs::daemon
