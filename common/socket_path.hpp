// Where the daemon's socket is (PROTOCOL.md, "Socket"), for the daemon and
// every client alike:
//   socket      = --socket, else $HARNESSSYNC_SOCKET,
//                 else <runtime dir>/harnesssync/<name>
//   runtime dir = $XDG_RUNTIME_DIR, else ${TMPDIR:-/tmp}/harnesssync-<euid>
//                 (created 0700; refused unless a directory of ours, 0700)
//   name        = harnesssyncd.sock for the passwd entry's ~/.harnesssync
//                 (getpwuid(getuid()), not $HOME), else
//                 harnesssyncd-<16 hex of SHA-256(real path)>.sock
// The Python client (harnesssync.paths) implements the same rule; the two
// must agree byte for byte, so path spelling follows Python (real_path.hpp).
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

/// The socket and state dir rules in words, for the --help of every binary
/// (a string literal, so that it joins the rest of each footer).
#define HS_SOCKET_RULE_HELP \
  "Socket: --socket, else $HARNESSSYNC_SOCKET, else <runtime dir>/harnesssync/NAME.\n" \
  "The runtime dir is $XDG_RUNTIME_DIR, else ${TMPDIR:-/tmp}/harnesssync-<uid>\n" \
  "(made 0700; refused unless it is yours and 0700). NAME is harnesssyncd.sock for\n" \
  "the ~/.harnesssync of your passwd entry (not of $HOME), else harnesssyncd-<16 hex\n" \
  "of SHA-256 of the state dir's real path>.sock: one socket per state dir.\n" \
  "'hsctl socket-path' prints it.\n" \
  "State dir: --state-dir, else $HARNESSSYNC_HOME, else ~/.harnesssync (0755 is\n" \
  "fine; one of another user's, or writable by group or others, is refused).\n"

namespace hs {

/// The longest path a Unix socket address holds (sun_path less its NUL).
size_t max_socket_path();

/// The runtime dir by the rule above. With `create`, the private dir is
/// made when missing; it is then checked (Errc::unsafe_socket_dir when it
/// is not a directory of ours with mode 0700, Errc::os when it cannot be
/// made or examined). Without `create`, a missing private dir is no error.
Result<std::string> runtime_dir(bool create);

/// The socket file name for `state_dir` by the rule above.
Result<std::string> socket_name(const std::string& state_dir);

/// The socket path by the rules above; `create` as for runtime_dir.
/// Errc::invalid_argument (field "socket") when it is longer than
/// max_socket_path().
Result<std::string> resolve_socket_path(const std::optional<std::string>& flag, const std::string& state_dir,
                                        bool create = true);

}  // namespace hs
