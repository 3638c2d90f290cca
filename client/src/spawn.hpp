// Starting harnesssyncd on demand (the tmux client_connect pattern): take a
// spawn lock, connect again (someone may have started it meanwhile), unlink
// a dead socket, start the daemon detached, and wait on a readiness pipe so
// that a daemon that cannot start is reported at once with its own reason.
#pragma once

#include <string>

#include "client/src/connection.hpp"

namespace harnesssync::detail {

struct SpawnPlan {
  std::string socket_path;
  std::string state_dir;
  std::string daemon_path;  // empty: next to this program, else $PATH
  Deadline deadline;
};

/// Returns a connection to a daemon that is running when it returns:
/// started by us (`*started` = true) or by someone else meanwhile.
Result<Connection> connect_spawning(const SpawnPlan& plan, bool* started);

}  // namespace harnesssync::detail
