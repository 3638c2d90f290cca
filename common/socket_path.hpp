// Where the daemon's socket is (PROTOCOL.md, "Socket"), for the daemon and
// every client alike: --socket, else $HARNESSSYNC_SOCKET, else
// $XDG_RUNTIME_DIR/harnesssync/harnesssyncd.sock, else <state dir>/harnesssyncd.sock.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

namespace hs {

/// The longest path a Unix socket address holds (sun_path less its NUL).
size_t max_socket_path();

/// The socket path by the rules above. Errc::invalid_argument (field
/// "socket") when it is longer than max_socket_path().
Result<std::string> resolve_socket_path(const std::optional<std::string>& flag,
                                        const std::string& state_dir);

}  // namespace hs
