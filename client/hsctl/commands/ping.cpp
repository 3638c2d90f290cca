// hsctl ping: check that the daemon answers, and how fast.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_ping(CLI::App&, Context& ctx) {
  return [&ctx]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto t0 = std::chrono::steady_clock::now();
    auto r = c->ping();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{{"pong", true}, {"round_trip_us", us}});
    } else {
      std::printf("pong from %s in %lld us\n", c->socket_path().c_str(), static_cast<long long>(us));
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
