// hsctl harnesssync setup|sources: the trigger that runs HarnessSync's sync
// when its sources change (docs/HARNESSSYNC.md, step 3), as
// `python3 -m harnesssync.setup` defines it.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/harnesssync_sources.hpp"
#include "client/hsctl/trigger_text.hpp"
#include "common/state_dir.hpp"

namespace hsctl {
namespace json = boost::json;
namespace {

struct Args {
  std::vector<std::string> projects;
  std::string home;
  std::string plugin_dir;
  std::string name = "harnesssync";
  std::string python;
};

// Path.home(), as harnesssync.setup has it, unless --home.
std::optional<std::string> home_of(Context& ctx, const Args& a) {
  if (!a.home.empty()) return a.home;
  auto home = hs::home_dir();
  if (!home) {
    ctx.usage("cannot find the home directory: " + home.error().message());
    return std::nullopt;
  }
  return *home;
}

std::string python3_on_path() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    const std::string candidate = dir + "/python3";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "python3";  // the daemon looks on its own PATH
}

void add_common(CLI::App& sub, Args& a) {
  sub.add_option("--project", a.projects, "A project HarnessSync syncs (repeatable)")->type_name("DIR");
  sub.add_option("--home", a.home, "The user's home (default: $HOME)")->type_name("DIR");
}

}  // namespace

Action setup_harnesssync(CLI::App& sub, Context& ctx) {
  sub.require_subcommand(1);
  auto a = std::make_shared<Args>();
  auto* sources = sub.add_subcommand("sources", "The Claude Code sources HarnessSync reads, one per line");
  add_common(*sources, *a);
  sources->footer("What the trigger of 'hsctl harnesssync setup' watches: the user's ~/.claude sources (not\n"
                  "~/.claude as a whole) and each project's; as harnesssync.setup.sources() lists them.\n"
                  "--json: a JSON array.");
  auto* setup = sub.add_subcommand("setup", "Define the trigger that runs HarnessSync's sync when its sources change");
  add_common(*setup, *a);
  setup->add_option("--plugin-dir", a->plugin_dir, "HarnessSync's directory (default: its user install)")
      ->type_name("DIR");
  setup->add_option("--name", a->name, "The trigger's name (default harnesssync)")->type_name("NAME");
  setup->add_option("--python", a->python, "The python3 that runs the sync (default: python3 on PATH)")
      ->type_name("PATH");
  setup->footer(
      "Sets (or replaces) trigger NAME: when any source of 'hsctl harnesssync sources' changes,\n"
      "the daemon runs python3 -m harnesssync.run_sync, which runs HarnessSync's own sync of\n"
      "each --project (scope all), or of the user scope without one, holding the lock sync.\n"
      "HarnessSync is found in ~/.claude/plugins/installed_plugins.json (the plugin\n"
      "harness-sync), else give --plugin-dir. Prints what it set (--json: the trigger).\n"
      "The same in Python: python3 -m harnesssync.setup. Undo: hsctl trigger rm NAME.\n"
      "See docs/HARNESSSYNC.md, step 3.");
  return [&ctx, a, sources, setup]() -> int {
    auto home = home_of(ctx, *a);
    if (!home) return exit_code::usage;
    if (sources->parsed()) {
      const auto list = harnesssync_sources(*home, a->projects);
      if (ctx.globals().json) {
        Context::print_json(json::value(json::array(list.begin(), list.end())));
      } else {
        for (const auto& p : list) std::printf("%s\n", p.c_str());
      }
      return exit_code::ok;
    }
    (void)setup;
    std::string hs = a->plugin_dir;
    if (hs.empty()) {
      auto found = find_harnesssync(*home);
      if (!found) {
        return ctx.usage("harnesssync setup: cannot find HarnessSync (no user install of harness-sync in " + *home +
                         "/.claude/plugins/installed_plugins.json); give --plugin-dir");
      }
      hs = *found;
    }
    const auto spec =
        harnesssync_trigger(a->name, *home, a->projects, hs, a->python.empty() ? python3_on_path() : a->python);
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->trigger_set(spec);
    if (!r) {
      const auto& e = r.error();
      if (e.kind == harnesssync::Error::Kind::rpc && e.code == -32602) {
        return ctx.usage("harnesssync setup: " + e.message);
      }
      return ctx.fail(e);
    }
    if (ctx.globals().json) {
      auto list = c->call("trigger.list");
      if (list && list->is_array()) {
        for (const auto& t : list->get_array()) {
          if (t.is_object() && t.get_object().contains("name") && t.get_object().at("name") == json::value(a->name)) {
            Context::print_json(t);
          }
        }
      }
      return exit_code::ok;
    }
    std::printf("%s", describe(*r).c_str());
    std::printf("  watching:\n");
    for (const auto& p : r->spec.watch) std::printf("    %s\n", p.c_str());
    std::printf("Undo: hsctl trigger rm %s\n", a->name.c_str());
    return exit_code::ok;
  };
}

}  // namespace hsctl
