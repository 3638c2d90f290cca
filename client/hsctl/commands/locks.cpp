// hsctl locks: the daemon's locks (lock.list), as a table or --json.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_locks(CLI::App& sub, Context& ctx) {
  sub.footer("One line per lock held, waited for or owed a run: its name, the holder's pid (- when\n"
             "free), how long it has been held, how many wait for it, and whether a run is owed\n"
             "(a caller that covered others left without running; the next one granted it runs\n"
             "for them). --json prints lock.list's answer.");
  return [&ctx]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    if (ctx.globals().json) {
      auto r = c->call("lock.list");
      if (!r) return ctx.fail(r.error());
      Context::print_json(*r);
      return exit_code::ok;
    }
    auto r = c->lock_list();
    if (!r) return ctx.fail(r.error());
    if (r->empty()) {
      std::printf("no locks\n");
      return exit_code::ok;
    }
    std::printf("%-24s %-10s %10s %8s %5s\n", "NAME", "HOLDER", "HELD", "WAITING", "OWED");
    for (const auto& l : *r) {
      // A free lock is listed only while it is owed a run.
      const bool free = !l.holder_pid && l.held_ms == 0 && l.owed;
      const std::string pid = l.holder_pid ? std::to_string(*l.holder_pid) : free ? "-" : "?";
      char held[32];
      std::snprintf(held, sizeof held, "%.1fs", static_cast<double>(l.held_ms) / 1000.0);
      std::printf("%-24s %-10s %10s %8lld %5s\n", l.name.c_str(), pid.c_str(), held, static_cast<long long>(l.waiting),
                  l.owed ? "yes" : "no");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
