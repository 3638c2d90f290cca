// hsctl migrate [--from DIR]: copy last_sync from an old cc2all state dir.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_migrate(CLI::App& sub, Context& ctx) {
  auto from = std::make_shared<std::string>();
  sub.add_option("--from", *from, "The old cc2all state dir (default ~/.cc2all)")->type_name("DIR");
  return [&ctx, from]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->migrate_cc2all(from->empty() ? std::nullopt : std::optional<std::string>(absolute(*from)));
    if (!r) return ctx.fail(r.error());
    const std::string where = from->empty() ? "~/.cc2all" : *from;
    if (ctx.globals().json) {
      Context::print_json(boost::json::object{
          {"migrated", r->migrated},
          {"last_sync", r->last_sync ? boost::json::value(*r->last_sync) : boost::json::value(nullptr)}});
    } else if (!r->migrated) {
      std::printf("nothing to migrate: %s/sync-state.json does not exist\n", where.c_str());
    } else {
      std::printf("migrated from %s (last sync %s)\n", where.c_str(), r->last_sync ? r->last_sync->c_str() : "unknown");
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
