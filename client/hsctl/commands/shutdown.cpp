// hsctl shutdown: stop the daemon gracefully and wait until it is gone.
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace {

// True once process `pid` has exited: it is gone, or a zombie that its
// parent has not reaped yet. The kernel drops a process's locks when it
// closes its files, before it becomes a zombie, so a new daemon can start
// at once. Waiting on the pid, never on the daemon's lock: a probe that
// takes the lock, however briefly, is a lock a starting daemon can trip
// over (exit 75), and one that a new daemon holds would read as the old one.
bool exited(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;  // EPERM: alive, not ours
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!stat || !std::getline(stat, text)) return false;  // no /proc: alive until reaped
  auto paren = text.rfind(')');  // the command name may hold spaces and parentheses
  return paren != std::string::npos && paren + 2 < text.size() &&
         (text[paren + 2] == 'Z' || text[paren + 2] == 'X');
}

// For a daemon that does not report its pid: its socket is gone or replaced.
bool socket_gone(const std::string& path, const struct stat& before) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;
  return st.st_dev != before.st_dev || st.st_ino != before.st_ino;
}

}  // namespace

Action setup_shutdown(CLI::App& sub, Context& ctx) {
  sub.footer("Never starts a daemon. Waits (up to --timeout) until the daemon's process has exited, so\n"
             "a new daemon can start at once (a daemon that does not report its pid: until its socket\n"
             "is gone). Like every command, it refuses (exit 6) a daemon that serves another state dir\n"
             "than the one named, or than the default one its socket was derived from.");
  return [&ctx]() -> int {
    auto* c = ctx.client(/*allow_spawn=*/false);
    if (c == nullptr) return ctx.last_error_code();
    auto info = ctx.daemon_info();
    if (!info) return ctx.fail(info.error());
    const long pid = int_member(*info, "pid").value_or(0);
    struct stat sock {};
    const bool have_sock = ::lstat(c->socket_path().c_str(), &sock) == 0;
    auto r = c->shutdown();
    if (!r) return ctx.fail(r.error());
    // The daemon answers first, then finishes its writes, removes its socket
    // and exits.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(ctx.globals().timeout_s * 1000));
    auto gone = [&] { return pid > 0 ? exited(pid) : !have_sock || socket_gone(c->socket_path(), sock); };
    bool stopped = false;
    while (!(stopped = gone()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{{"stopped", stopped}});
    } else {
      std::printf(stopped ? "harnesssyncd stopped\n" : "harnesssyncd is stopping (it has not exited yet)\n");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
