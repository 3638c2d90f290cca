// hsctl accept TARGET PATH...: the files as they are now become the baseline.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/output.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_accept(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string target;
    std::vector<std::string> paths;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("TARGET", a->target, "Target name")->required();
  sub.add_option("PATH", a->paths, "Files whose current content is accepted (gone ones are forgotten)")->required();
  return [&ctx, a]() -> int {
    std::vector<std::string> paths;
    for (const auto& p : a->paths) paths.push_back(absolute(p));
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->accept(a->target, paths, ctx.account());
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(json::object{{"updated", json::array(r->updated.begin(), r->updated.end())},
                                       {"removed", json::array(r->removed.begin(), r->removed.end())}});
    } else {
      std::printf("%s: accepted %s as the new baseline", a->target.c_str(),
                  count(static_cast<long>(r->updated.size()), "file", "files").c_str());
      if (!r->removed.empty()) {
        std::printf(", forgot %s no longer on disk", count(static_cast<long>(r->removed.size()), "file", "files").c_str());
      }
      std::printf("\n");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
