// Where the state lives: --state-dir, else $HARNESSSYNC_HOME, else ~/.harnesssync.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

namespace hs {

/// The user's home directory: $HOME, else the passwd entry.
Result<std::string> home_dir();

/// The state dir path by the rules above (not created). `flag` is --state-dir.
Result<std::string> resolve_state_dir(const std::optional<std::string>& flag);

/// Creates `dir` (and missing parents) with mode 0700 when missing; an
/// existing directory is left as it is.
Status ensure_state_dir(const std::string& dir);

}  // namespace hs
