// What connect() works out before it dials: the state dir, whether the
// caller named one, whether spawning is off. The public half of this file
// (resolve_socket_path, check_daemon_serves) is in harnesssync/options.hpp.
#pragma once

#include <string>

#include "harnesssync/options.hpp"

namespace harnesssync::detail {

/// ClientOptions::state_dir, else $HARNESSSYNC_HOME, else ~/.harnesssync.
Result<std::string> resolve_state_dir(const ClientOptions& o);
/// Whether the caller named a state dir (state_dir, or $HARNESSSYNC_HOME).
bool names_state_dir(const ClientOptions& o);
/// HARNESSSYNC_NO_SPAWN is set to anything but "" and "0".
bool spawn_disabled_by_env();

}  // namespace harnesssync::detail
