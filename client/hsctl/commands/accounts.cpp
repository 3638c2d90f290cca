// hsctl accounts: the accounts the state file holds (layout 2).
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_accounts(CLI::App& sub, Context& ctx) {
  sub.footer("--json: the names, sorted, as a JSON array. 'hsctl --account NAME status' shows one.");
  return [&ctx]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->accounts();
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(boost::json::array(r->begin(), r->end()));
    } else if (r->empty()) {
      std::printf("no accounts\n");
    } else {
      for (const auto& name : *r) std::printf("%s\n", name.c_str());
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
