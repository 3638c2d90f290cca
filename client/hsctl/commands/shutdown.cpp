// hsctl shutdown: stop the daemon gracefully and wait until it is gone.
#include <fcntl.h>
#include <sys/file.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "client/hsctl/commands.hpp"
#include "common/unique_fd.hpp"

namespace hsctl {
namespace {

// True when nobody holds the daemon's instance lock (or it cannot be read,
// which a daemon that is running could not allow either).
bool lock_released(const std::string& path) {
  if (path.empty()) return true;
  hs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return true;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) return false;
  ::flock(fd.get(), LOCK_UN);
  return true;
}

}  // namespace

Action setup_shutdown(CLI::App& sub, Context& ctx) {
  sub.footer("Never starts a daemon. Waits (up to --timeout) until the daemon has exited: its\n"
             "instance lock is released, so a new daemon can start at once.");
  return [&ctx]() -> int {
    auto* c = ctx.client(/*allow_spawn=*/false);
    if (c == nullptr) return ctx.last_error_code();
    auto info = ctx.daemon_info();
    if (!info) return ctx.fail(info.error());
    const auto* state_file = info->if_contains("state_file");
    std::string lock_path;
    if (state_file != nullptr && state_file->is_string()) {
      std::string sf(state_file->get_string());
      lock_path = sf.substr(0, sf.rfind('/') + 1) + "harnesssyncd.lock";
    }
    auto r = c->shutdown();
    if (!r) return ctx.fail(r.error());
    // The daemon answers first, then finishes its writes, removes its socket
    // and exits; the kernel drops its flock on the lock file only then.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(ctx.globals().timeout_s * 1000));
    bool gone = false;
    while (!(gone = lock_released(lock_path)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{{"stopped", gone}});
    } else {
      std::printf(gone ? "harnesssyncd stopped\n" : "harnesssyncd is stopping (its socket is still there)\n");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
