// hsctl plugins: the plugins HarnessSync recorded at its last sync (the
// top-level section, or --account's).
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_plugins(CLI::App& sub, Context& ctx) {
  sub.footer("--json: the stored plugins as the daemon holds them, {name: {version, mcp_count, ...}}.");
  return [&ctx]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->plugins_status(ctx.account());
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(*r);
      return exit_code::ok;
    }
    const std::string where = ctx.account() ? " (account " + *ctx.account() + ")" : "";
    if (r->empty()) {
      std::printf("no plugins recorded%s\n", where.c_str());
      return exit_code::ok;
    }
    // Plugins are whatever HarnessSync stored: show members of any type.
    auto show = [](const json::value& plugin, const char* key) {
      const json::object* o = plugin.if_object();
      const json::value* v = o != nullptr ? o->if_contains(key) : nullptr;
      if (v == nullptr) return std::string("-");
      return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
    };
    std::printf("%-24s %-12s %s\n", "PLUGIN", "VERSION", "MCP SERVERS");
    for (const auto& [name, plugin] : *r) {
      std::printf("%-24s %-12s %s\n", std::string(name).c_str(), show(plugin, "version").c_str(),
                  show(plugin, "mcp_count").c_str());
    }
    if (!where.empty()) std::printf("%s\n", where.substr(1).c_str());
    return exit_code::ok;
  };
}

}  // namespace hsctl
