#include "client/hsctl/app.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "client/hsctl/commands.hpp"
#include "common/socket_path.hpp"
#include "common/version.hpp"

namespace hsctl {
namespace {

constexpr const char* kFooter = HS_SOCKET_RULE_HELP R"(When no daemon answers, hsctl starts harnesssyncd (the one next to hsctl, else
on $PATH), logging to <state dir>/harnesssyncd.log; --no-spawn or
HARNESSSYNC_NO_SPAWN=1 turn that off.

hsctl lock runs its COMMAND only once the daemon answered and granted the lock
(exit 3 without running it when the daemon cannot be reached), then exits with
COMMAND's own status.

Exit status:
  0  ok; no drift
  1  drift found (drift, status)
  2  usage error
  3  daemon unreachable or failed to start
  4  the daemon answered with an error
  5  lock: the lock is busy and was not acquired within --wait (the message
     names the holder's pid)
  6  the daemon on the socket serves another state dir than the one meant:
     the one named (--state-dir or $HARNESSSYNC_HOME), or the default one
     the socket was derived from (no --socket, no $HARNESSSYNC_SOCKET)
  7  the daemon's answer lacks something hsctl needs (a daemon of another
     version: 'hsctl shutdown' stops it)

'hsctl COMMAND --help' describes each command.)";

}  // namespace

int run(int argc, char** argv) {
  Globals g;
  Context ctx(g);
  CLI::App app{"hsctl: the command line of harnesssyncd, the HarnessSync state daemon.", "hsctl"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("hsctl ") + hs::kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command too
  app.add_option("--socket", g.socket, "Socket path")->type_name("PATH");
  app.add_option("--state-dir", g.state_dir, "State directory")->type_name("DIR");
  app.add_option("--account", g.account, "Account (schema v2) for commands that name a target")
      ->type_name("NAME");
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_option("--timeout", g.timeout_s, "Seconds to wait for each answer (default 10)")
      ->check(CLI::Range(0.001, 86400.0))
      ->type_name("SECONDS");
  app.add_flag("--no-spawn", g.no_spawn, "Never start the daemon");

  // The command named on the command line, found before CLI11 sees it: an
  // unknown one is named plainly (CLI11 would only say one is required), and
  // a known one is the only command declared to CLI11. Declaring all of them
  // costs a few hundred allocations, a tenth of hsctl's own CPU time per run;
  // --help (before any command) and no command at all still declare every one.
  const CommandSpec* named = nullptr;
  bool help_first = false;
  for (int i = 1; i < argc && named == nullptr; ++i) {
    std::string_view arg = argv[i];
    if (arg.empty() || arg[0] == '-') {
      help_first |= arg == "-h" || arg == "--help";
      // Skip a global option's value: the next word is not a command.
      if (arg == "--socket" || arg == "--state-dir" || arg == "--account" || arg == "--timeout") ++i;
      continue;
    }
    for (const auto& spec : commands()) {
      if (arg == spec.name) named = &spec;
    }
    if (named == nullptr) {
      std::cerr << "hsctl: unknown command '" << arg << "' (see hsctl --help)\n";
      return exit_code::usage;
    }
  }
  std::vector<std::pair<CLI::App*, Action>> actions;
  for (const auto& spec : commands()) {
    if (named != nullptr && !help_first && &spec != named) continue;
    CLI::App* sub = app.add_subcommand(spec.name, spec.help);
    actions.emplace_back(sub, spec.setup(*sub, ctx));
  }
  take_trailing_command(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      app.exit(e);
      return exit_code::ok;
    }
    std::cerr << "hsctl: " << e.what() << " (see hsctl --help)\n";
    return exit_code::usage;
  }
  for (auto& [sub, action] : actions) {
    if (sub->parsed()) return action();
  }
  return exit_code::usage;  // unreachable: require_subcommand(1)
}

}  // namespace hsctl
