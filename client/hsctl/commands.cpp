// The command table (see commands.hpp).
#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace {

constexpr CommandSpec kCommands[] = {
    {"status", "Every target's status, last sync and drift (exit 1 when any drifted)", setup_status},
    {"drift", "Files of TARGET that changed since its last sync (exit 1 when any)", setup_drift},
    {"watch", "Print drift as it happens, until Ctrl-C (--json: one notification per line)", setup_watch},
    {"record", "Record a sync of TARGET", setup_record},
    {"accept", "Take the files on disk as TARGET's new baseline", setup_accept},
    {"clear", "Forget TARGET's sync record", setup_clear},
    {"migrate", "Copy last_sync from an old cc2all state dir", setup_migrate},
    {"hash", "SHA-256 of files, as the daemon computes it", setup_hash},
    {"accounts", "The accounts the state holds (layout 2)", setup_accounts},
    {"plugins", "The plugins recorded at the last sync (of --account)", setup_plugins},
    {"dry-run", "Show, or turn on or off, HarnessSync's global dry-run flag", setup_dry_run},
    {"health", "Record a health score of TARGET, or show its history", setup_health},
    {"trigger", "Commands the daemon runs when watched files change (set, ls, rm, log, pause, resume, run)",
     setup_trigger},
    {"harnesssync", "HarnessSync's auto-sync: 'setup' defines the trigger that runs its sync; 'sources'",
     setup_harnesssync},
    {"lock", "Run a command while holding the daemon's lock NAME, like flock(1)", setup_lock},
    {"locks", "The daemon's locks: holder pid, time held, waiters", setup_locks},
    {"info", "The running daemon: version, pid, paths, uptime", setup_info},
    {"ping", "Check that the daemon answers", setup_ping},
    {"shutdown", "Stop the daemon gracefully (never starts one)", setup_shutdown},
    {"call", "Raw JSON-RPC call, for scripts: prints the result as JSON", setup_call},
    {"socket-path", "Print the socket path hsctl uses (connects to nothing)", setup_socket_path},
};

}  // namespace

std::span<const CommandSpec> commands() { return kCommands; }

}  // namespace hsctl
