// harnesssyncd's command line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

#include "common/log.hpp"
#include "daemon/net/limits.hpp"

namespace hs::daemon {

struct Options {
  std::optional<std::string> state_dir;
  std::optional<std::string> socket;
  log::Level log_level = log::Level::info;
  net::Limits limits;
  /// Readiness pipe for clients that start the daemon: "READY\n" is written
  /// once it listens, or "ERROR <reason>\n" when start-up fails; then closed.
  int ready_fd = -1;
  /// Fork first thing: the process started exits 0 at once, and the daemon
  /// runs on in a process group of its own, nobody's child (a client that
  /// starts it with posix_spawn need not fork twice).
  bool detach = false;
  /// The state file's layout (STATE.md "Layout 2"): 1 or 2. One rule,
  /// whoever starts the daemon: --schema, else $HARNESSSYNC_SCHEMA, else 2
  /// (HarnessSync 0.1.4's); clients never choose it for the user.
  int schema = 2;
  /// Hashing threads; 0: one per core, at least 2.
  size_t hash_workers = 0;
  /// Directory watches the file watch may use; 0: as many as the OS allows.
  size_t max_watches = 0;
  /// Lock names one connection may hold or wait for at once (PROTOCOL.md,
  /// "Limits"): the lock table's, not a session's, so not in net::Limits.
  size_t max_locks = 1024;
};

/// Exit statuses of harnesssyncd (documented in --help and README.md).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;        // an unexpected error while running
inline constexpr int usage = 64;         // bad command line; socket path too long; unusable passed-in socket
inline constexpr int not_regular = 66;   // state.json is not a regular file (a FIFO, a device, ...)
inline constexpr int cant_create = 73;   // state dir cannot be created or written
inline constexpr int already_running = 75;  // another daemon holds the state dir or the socket (<socket>.lock)
inline constexpr int no_permission = 77;    // socket or runtime dir not ours alone; state dir not ours or writable by others
inline constexpr int config = 78;        // state.json has a schema version above 2
inline constexpr int os_error = 71;      // the socket cannot be created
}  // namespace exit_code

/// Parses argv. Returns the options, or an exit status when the process
/// should end now (after --help, --version, or a usage error it printed).
std::variant<Options, int> parse_options(int argc, char** argv);

}  // namespace hs::daemon
