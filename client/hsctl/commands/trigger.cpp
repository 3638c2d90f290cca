// hsctl trigger set|ls|rm|log|pause|resume|run: the daemon's triggers
// (docs/PROTOCOL.md, "Triggers"): commands it runs when watched files
// change. `run` lives in trigger_run.cpp.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/trigger_text.hpp"

namespace hsctl {
namespace json = boost::json;
namespace {

// A command named without a slash is looked up on hsctl's PATH (the
// user's), which may hold more than the daemon's; one with a slash is made
// absolute here, where its relative path means something.
std::string resolve_command(const std::string& name) {
  if (name.empty() || name[0] == '/') return name;
  if (name.find('/') != std::string::npos) return absolute(name);
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;  // the daemon looks on its own PATH, and says when it is not there
}

// `hsctl trigger set ... -- COMMAND...`: the words after "--", kept out of
// CLI11, which would take "--" as the end of --watch's list (CLI11 2.1
// eats it there) and then read COMMAND's own options as hsctl's.
std::vector<std::string>& trailing() {
  static std::vector<std::string> words;
  return words;
}

// Rpc errors on a param are usage errors (exit 2), with the daemon's words.
int fail_call(Context& ctx, const std::string& what, const harnesssync::Error& e) {
  if (e.kind == harnesssync::Error::Kind::rpc && e.code == -32602) return ctx.usage(what + ": " + e.message);
  return ctx.fail(e);
}

using Sub = std::pair<CLI::App*, Action>;

Sub setup_set(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("set", "Create or replace trigger NAME: run COMMAND when a watched path changes");
  auto spec = std::make_shared<harnesssync::TriggerSpec>();
  auto env = std::make_shared<std::vector<std::string>>();
  auto timeout_s = std::make_shared<double>(-1);
  auto lock = std::make_shared<std::string>();
  sub->add_option("NAME", spec->name, "Trigger name: 1-64 of A-Z a-z 0-9 . _ -")->required();
  sub->add_option("--watch", spec->watch, "Paths to watch (a directory: everything below it, files made later too)")
      ->required()
      ->type_name("PATH...");
  sub->add_option("--settle", spec->settle_ms, "Run this long after the last change (default 300)")->type_name("MS");
  sub->add_option("--max-wait", spec->max_wait_ms,
                  "... or this long after the first, whichever is first (default 3000)")
      ->type_name("MS");
  auto* lock_opt = sub->add_option("--lock", *lock, "The lock a run holds, as a coalescing caller (default sync)")
                       ->type_name("NAME");
  sub->add_flag("--no-lock", spec->no_lock, "Hold no lock while it runs")->excludes(lock_opt);
  sub->add_option("--timeout", *timeout_s,
                  "Past it the command's process group gets SIGTERM, then SIGKILL (default 600)")
      ->check(CLI::Range(0.001, 1e9))
      ->type_name("SECONDS");
  sub->add_option("--cwd", spec->cwd, "Working directory (default: the state dir)")->type_name("DIR");
  sub->add_option("--env", *env, "Add K=V to the command's environment (repeatable)")->type_name("K=V");

  sub->footer(
      "Usage: hsctl trigger set NAME --watch PATH... [options] -- COMMAND [ARGS...]\n"
      "The daemon runs COMMAND once no watched path changed for --settle ms (or --max-wait ms after\n"
      "the first change), never twice at once, and once more after a run for what changed during\n"
      "it. Its stdin is the changed paths, one per line ('*' when the daemon cannot know). It holds\n"
      "the lock (default sync) for its whole length, so manual 'hsctl lock sync --coalesce' runs and\n"
      "triggered runs never overlap. Prints the trigger as the daemon stored it (--json: as JSON).\n"
      "Exit 2 when a param is refused (the daemon names it); nothing is saved then.");
  return {sub, [&ctx, spec, env, timeout_s, lock]() -> int {
            spec->command = trailing();
            if (spec->command.empty() || spec->command[0].empty()) {
              return ctx.usage("trigger set " + spec->name + ": the command to run goes after --");
            }
            for (auto& w : spec->watch) w = absolute(w);
            if (spec->cwd) spec->cwd = absolute(*spec->cwd);
            spec->command[0] = resolve_command(spec->command[0]);
            if (!lock->empty()) spec->lock = *lock;
            if (*timeout_s > 0) spec->timeout_ms = static_cast<int64_t>(*timeout_s * 1000);
            for (const auto& kv : *env) {
              const auto eq = kv.find('=');
              if (eq == std::string::npos || eq == 0) return ctx.usage("--env " + kv + ": expected K=V");
              spec->env[kv.substr(0, eq)] = kv.substr(eq + 1);
            }
            auto* c = ctx.client();
            if (c == nullptr) return ctx.last_error_code();
            if (ctx.globals().json) {
              auto r = c->call("trigger.set", harnesssync::trigger_set_params(*spec));
              if (!r) return fail_call(ctx, "trigger set " + spec->name, r.error());
              Context::print_json(*r);
              return exit_code::ok;
            }
            auto r = c->trigger_set(*spec);
            if (!r) return fail_call(ctx, "trigger set " + spec->name, r.error());
            std::printf("%s", describe(*r).c_str());
            return exit_code::ok;
          }};
}

Sub setup_ls(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("ls", "The triggers: state, runs, last result");
  sub->alias("list");
  sub->footer(
      "One line per trigger: NAME, STATE (idle, settling, waiting_lock, running, backing_off,\n"
      "paused), RUNS, and LAST: the last run's result. --json prints trigger.list's answer.");
  return {sub, [&ctx]() -> int {
            auto* c = ctx.client();
            if (c == nullptr) return ctx.last_error_code();
            if (ctx.globals().json) {
              auto r = c->call("trigger.list");
              if (!r) return ctx.fail(r.error());
              Context::print_json(*r);
              return exit_code::ok;
            }
            auto r = c->trigger_list();
            if (!r) return ctx.fail(r.error());
            std::printf("%s", trigger_table(*r).c_str());
            return exit_code::ok;
          }};
}

Sub setup_rm(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("rm", "Remove trigger NAME (a run in progress finishes)");
  auto name = std::make_shared<std::string>();
  sub->add_option("NAME", *name, "Trigger name")->required();
  sub->footer("Exit 4 (the daemon's error 2) when there is no trigger of that name.");
  return {sub, [&ctx, name]() -> int {
            auto* c = ctx.client();
            if (c == nullptr) return ctx.last_error_code();
            auto r = c->trigger_remove(*name);
            if (!r) return fail_call(ctx, "trigger rm " + *name, r.error());
            return exit_code::ok;
          }};
}

Sub setup_log(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("log", "Trigger NAME's last runs, with their output");
  auto name = std::make_shared<std::string>();
  auto n = std::make_shared<int64_t>(10);
  sub->add_option("NAME", *name, "Trigger name")->required();
  sub->add_option("-n,--runs", *n, "How many of the last runs (1 to 100, default 10)")->check(CLI::Range(1, 100));
  sub->footer(
      "Oldest first: each run's number, start, result and the last 64 KiB of its stdout and\n"
      "stderr. --json prints trigger.log's answer.");
  return {sub, [&ctx, name, n]() -> int {
            auto* c = ctx.client();
            if (c == nullptr) return ctx.last_error_code();
            if (ctx.globals().json) {
              auto r = c->call("trigger.log", json::object{{"name", *name}, {"runs", *n}});
              if (!r) return fail_call(ctx, "trigger log " + *name, r.error());
              Context::print_json(*r);
              return exit_code::ok;
            }
            auto r = c->trigger_log(*name, *n);
            if (!r) return fail_call(ctx, "trigger log " + *name, r.error());
            if (r->empty()) std::printf("no runs yet\n");
            for (const auto& run : *r) std::printf("%s", run_text(run, true).c_str());
            return exit_code::ok;
          }};
}

Sub setup_pause_resume(CLI::App& app, Context& ctx, bool pause) {
  auto* sub = app.add_subcommand(pause ? "pause" : "resume",
                                 pause ? "Pause NAME (default: every trigger): changes are noted, nothing runs"
                                       : "Resume NAME (default: every trigger): one with changes noted runs once");
  auto name = std::make_shared<std::string>();
  sub->add_option("NAME", *name, "Trigger name (default: every trigger)");
  return {sub, [&ctx, name, pause]() -> int {
            auto* c = ctx.client();
            if (c == nullptr) return ctx.last_error_code();
            std::optional<std::string> which;
            if (!name->empty()) which = *name;
            auto r = pause ? c->trigger_pause(which) : c->trigger_resume(which);
            if (!r) return fail_call(ctx, std::string("trigger ") + (pause ? "pause " : "resume ") + *name, r.error());
            return exit_code::ok;
          }};
}

}  // namespace

void take_trailing_command(int& argc, char** argv) {
  // Only for "trigger set": other commands (hsctl lock) take theirs from CLI11.
  int trigger_at = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") {
      if (trigger_at < 0 || i < trigger_at + 2 || std::string_view(argv[trigger_at + 1]) != "set") return;
      trailing().assign(argv + i + 1, argv + argc);
      argc = i;
      return;
    }
    if (trigger_at < 0 && a == "trigger") trigger_at = i;
  }
}

Action setup_trigger(CLI::App& sub, Context& ctx) {
  sub.require_subcommand(1);
  auto subs = std::make_shared<std::vector<Sub>>();
  subs->push_back(setup_set(sub, ctx));
  subs->push_back(setup_ls(sub, ctx));
  subs->push_back(setup_rm(sub, ctx));
  subs->push_back(setup_log(sub, ctx));
  subs->push_back(setup_pause_resume(sub, ctx, true));
  subs->push_back(setup_pause_resume(sub, ctx, false));
  auto* run = sub.add_subcommand("run", "Run trigger NAME now (--wait: and exit with its result)");
  subs->emplace_back(run, setup_trigger_run(*run, ctx));
  sub.footer(
      "Triggers: the daemon runs a command when watched files change, settled, one run at a\n"
      "time, under a lock shared with 'hsctl lock'; they survive restarts. See\n"
      "'hsctl trigger SUBCOMMAND --help' and docs/PROTOCOL.md, \"Triggers\".");
  return [subs]() -> int {
    for (auto& [app, action] : *subs) {
      if (app->parsed()) return action();
    }
    return exit_code::usage;  // unreachable: require_subcommand(1)
  };
}

}  // namespace hsctl
