// hsctl clear TARGET: forget the target's sync record.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_clear(CLI::App& sub, Context& ctx) {
  auto target = std::make_shared<std::string>();
  sub.add_option("TARGET", *target, "Target name")->required();
  return [&ctx, target]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->clear(*target, ctx.account());
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{{"cleared", *r}});
    } else {
      std::printf(*r ? "cleared %s\n" : "%s had no sync record\n", target->c_str());
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
