// hsctl hash PATH...: SHA-256 as the daemon computes it, sha256sum-style.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_hash(CLI::App& sub, Context& ctx) {
  auto paths = std::make_shared<std::vector<std::string>>();
  sub.add_option("PATH", *paths, "Files to hash")->required();
  sub.footer("Prints 'HASH  PATH' per file, or '-  PATH (missing or not a readable regular file)'.");
  return [&ctx, paths]() -> int {
    std::vector<std::string> abs;
    for (const auto& p : *paths) abs.push_back(absolute(p));
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->hash_files(abs);
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      boost::json::object o;
      for (const auto& [p, h] : *r) o[p] = h ? boost::json::value(*h) : boost::json::value(nullptr);
      Context::print_json(o);
      return exit_code::ok;
    }
    for (const auto& p : abs) {
      const auto& h = (*r)[p];
      if (h) {
        std::printf("%s  %s\n", h->c_str(), p.c_str());
      } else {
        std::printf("-  %s (missing or not a readable regular file)\n", p.c_str());
      }
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
