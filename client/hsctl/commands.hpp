// The explicit table of hsctl commands. Each command lives in its own file
// under commands/ and provides one `setup` function: it declares the
// command's arguments on its CLI11 subcommand and returns the action to run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <span>

#include "client/hsctl/context.hpp"

namespace hsctl {

using Action = std::function<int()>;
using Setup = Action (*)(CLI::App& sub, Context& ctx);

struct CommandSpec {
  const char* name;
  const char* help;
  Setup setup;
};

/// Every command, in the order --help lists them.
std::span<const CommandSpec> commands();

Action setup_status(CLI::App&, Context&);
Action setup_drift(CLI::App&, Context&);
Action setup_record(CLI::App&, Context&);
Action setup_accept(CLI::App&, Context&);
Action setup_clear(CLI::App&, Context&);
Action setup_migrate(CLI::App&, Context&);
Action setup_hash(CLI::App&, Context&);
Action setup_accounts(CLI::App&, Context&);
Action setup_plugins(CLI::App&, Context&);
Action setup_dry_run(CLI::App&, Context&);
Action setup_health(CLI::App&, Context&);
Action setup_info(CLI::App&, Context&);
Action setup_ping(CLI::App&, Context&);
Action setup_shutdown(CLI::App&, Context&);
Action setup_call(CLI::App&, Context&);
Action setup_lock(CLI::App&, Context&);
Action setup_locks(CLI::App&, Context&);
Action setup_socket_path(CLI::App&, Context&);
Action setup_watch(CLI::App&, Context&);
Action setup_trigger(CLI::App&, Context&);
Action setup_harnesssync(CLI::App&, Context&);
/// `hsctl trigger run` (commands/trigger_run.cpp), a subcommand of trigger.
Action setup_trigger_run(CLI::App&, Context&);
/// For `hsctl trigger set ... -- COMMAND...`: takes the words after "--"
/// out of argv (shortening argc) before CLI11 parses it.
void take_trailing_command(int& argc, char** argv);

/// Delivers `c`'s notifications (to its handler) until SIGINT or SIGTERM
/// (exit_code::ok) or until the daemon goes away (one line on stderr,
/// exit_code::unreachable); calls `after_batch` (may be null) after each
/// batch delivered, outside the handler, where it may call `c`; a code
/// other than exit_code::ok from it ends the watch with that code.
int watch_until_stopped(Context& ctx, harnesssync::Client& c, const std::function<int()>& after_batch);

}  // namespace hsctl
