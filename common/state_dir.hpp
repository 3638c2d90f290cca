// Where the state lives: --state-dir, else $HARNESSSYNC_HOME, else ~/.harnesssync.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

namespace hs {

/// The daemon's log when a client started it (stderr goes there).
inline constexpr const char* kDaemonLogName = "harnesssyncd.log";

/// The user's home directory as Python's Path.home() has it: $HOME when set
/// (trailing slashes dropped; empty is "/"), else the passwd entry.
Result<std::string> home_dir();

/// The home directory of the passwd entry of the real uid
/// (getpwuid(getuid())), whatever $HOME says; nullopt when there is no
/// entry or it names no directory (a container's unnamed uid). Only its
/// ~/.harnesssync has the unhashed socket name (socket_path.hpp).
std::optional<std::string> passwd_home();

/// The state dir path by the rules above (not created). `flag` is --state-dir.
Result<std::string> resolve_state_dir(const std::optional<std::string>& flag);

/// Creates `dir` (and missing parents) with mode 0700 when missing; an
/// existing directory is left as it is. Then check_state_dir(dir).
Status ensure_state_dir(const std::string& dir);

/// Errc::unsafe_state_dir when `dir` is owned by another user than ours
/// (the effective uid), or writable by its group or by others; the message
/// names the dir, its mode and its owner. 0755 and 0700 are fine.
Status check_state_dir(const std::string& dir);

}  // namespace hs
