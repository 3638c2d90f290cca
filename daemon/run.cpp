#include "daemon/run.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>

#include "common/log.hpp"
#include "common/version.hpp"
#include "common/socket_path.hpp"
#include "common/state_dir.hpp"
#include "daemon/listener.hpp"
#include "daemon/server.hpp"
#include "daemon/store/state_store.hpp"

namespace hs::daemon {
namespace {

int fail(int code, const std::string& what) {
  log::error(what);
  return code;
}

int store_exit_code(const Error& e) {
  switch (e.code) {
    case Errc::busy: return exit_code::already_running;
    case Errc::unsupported: return exit_code::config;
    case Errc::os: return exit_code::cant_create;
    default: return exit_code::failure;
  }
}

}  // namespace

int run(const Options& opts) {
  log::set_level(opts.log_level);
  auto dir = resolve_state_dir(opts.state_dir);
  if (!dir) return fail(exit_code::usage, "cannot find the state dir: " + dir.error().message());
  auto socket_path = resolve_socket_path(opts.socket, *dir);
  if (!socket_path) return fail(exit_code::usage, "socket " + socket_path.error().detail);

  std::vector<std::string> warnings;
  store::StoreOptions so;
  so.dir = *dir;
  auto store = store::StateStore::open(so, &warnings);
  for (const auto& w : warnings) log::warn(w);
  if (!store) return fail(store_exit_code(store.error()), "cannot open the state: " + store.error().message());

  // Under the single-instance lock from here on: the stale-socket probe and
  // the bind cannot race another daemon on this state dir.
  auto listening = listen_unix(*socket_path);
  if (!listening) {
    const Error& e = listening.error();
    int code = e.code == Errc::busy               ? exit_code::already_running
               : e.code == Errc::invalid_argument ? exit_code::no_permission
                                                  : exit_code::os_error;
    return fail(code, "cannot listen: " + e.message());
  }

  // Peers that go away must cost an EPIPE on their socket, not our process;
  // a file size limit must fail the write (error 1), not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
  boost::asio::io_context io(1);
  Server server(io, opts, **store, std::move(*listening));
  server.start();
  log::info("harnesssyncd " + std::string(kVersion) + " serving " + (*store)->state_path() + " on " +
            *socket_path + " (pid " + std::to_string(::getpid()) + ")");
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      // A bug in one handler must not take every client down with it.
      log::error(std::string("unexpected error, continuing: ") + e.what());
    }
  }
  return exit_code::ok;
}

}  // namespace hs::daemon
