// hsctl dry-run [on|off]: HarnessSync's global dry-run flag.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_dry_run(CLI::App& sub, Context& ctx) {
  auto state = std::make_shared<std::string>();
  sub.add_option("STATE", *state, "on or off; without it, show the flag")->check(CLI::IsMember({"on", "off"}));
  sub.footer("--json: {\"global_dry_run\": bool}, the flag after the command.");
  return [&ctx, state]() -> int {
    // The flag is global: an --account would silently mean nothing.
    if (ctx.account()) return ctx.usage("dry-run: the flag is global; --account does not apply");
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    std::optional<bool> enabled;
    if (!state->empty()) enabled = *state == "on";
    auto r = c->dry_run(enabled);
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{{"global_dry_run", *r}});
    } else {
      std::printf("global dry run: %s\n", *r ? "on" : "off");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
