// hsctl info: the running daemon.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_info(CLI::App&, Context& ctx) {
  return [&ctx]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = ctx.daemon_info();
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(*r);
      return exit_code::ok;
    }
    auto s = [&](const char* k) {
      const auto* v = r->if_contains(k);
      return v == nullptr ? std::string("?") : v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
    };
    std::printf("%-11s %s %s (protocol %s)\n", "daemon", s("name").c_str(), s("version").c_str(), s("protocol").c_str());
    std::printf("%-11s %s\n", "pid", s("pid").c_str());
    std::printf("%-11s %s\n", "state file", s("state_file").c_str());
    // An older daemon does not report its layout: leave the line out.
    if (r->contains("schema")) std::printf("%-11s %s\n", "layout", ("schema " + s("schema")).c_str());
    std::printf("%-11s %s\n", "socket", s("socket").c_str());
    std::printf("%-11s %s (up %s ms)\n", "started", s("started_at").c_str(), s("uptime_ms").c_str());
    // Display only: what an older daemon does not report shows as "?".
    if (const json::object* w = object_member(*r, "writes")) {
      auto n = [&](const char* k) {
        const auto* v = w->if_contains(k);
        return v == nullptr ? std::string("?") : json::serialize(*v);
      };
      std::printf("%-11s %s durable writes holding %s changes\n", "writes", n("count").c_str(), n("changes").c_str());
    }
    if (const json::object* l = object_member(*r, "locks")) {
      auto n = [&](const char* k) {
        const auto* v = l->if_contains(k);
        return v == nullptr ? std::string("?") : json::serialize(*v);
      };
      std::printf("%-11s %s held, %s waiting (hsctl locks)\n", "locks", n("held").c_str(), n("waiting").c_str());
    }
    if (const json::object* t = object_member(*r, "triggers"); t != nullptr && t->contains("count")) {
      auto n = [&](const char* k) {
        const auto* v = t->if_contains(k);
        return v == nullptr ? std::string("?") : json::serialize(*v);
      };
      std::printf("%-11s %s, %s running, %s paused (hsctl trigger ls)\n", "triggers", n("count").c_str(),
                  n("running").c_str(), n("paused").c_str());
    }
    if (c->started_daemon()) std::printf("(hsctl started this daemon)\n");
    return exit_code::ok;
  };
}

}  // namespace hsctl
