// hsctl shutdown: stop the daemon gracefully and wait until it is gone.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_shutdown(CLI::App& sub, Context& ctx) {
  sub.footer("Never starts a daemon. Waits (up to --timeout) until the daemon has removed its socket.");
  return [&ctx]() -> int {
    auto* c = ctx.client(/*allow_spawn=*/false);
    if (c == nullptr) return ctx.last_error_code();
    const std::string path = c->socket_path();
    auto r = c->shutdown();
    if (!r) return ctx.fail(r.error());
    // The daemon answers first, then finishes its writes and removes the
    // socket as its last step: its absence means it is done.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(ctx.globals().timeout_s * 1000));
    struct stat st {};
    bool gone = false;
    while (!(gone = ::lstat(path.c_str(), &st) != 0) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
