// Starting a trigger's command: pipes for its stdin, stdout and stderr,
// and posix_spawn into a new process group, with every signal at its
// default and none blocked (the daemon ignores SIGPIPE; its commands must
// not inherit that). The platform parts (pipe2, the chdir file action)
// have portable fallbacks, the only ones built with HS_PORTABLE.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::triggers {

struct Child {
  pid_t pid = -1;     // also its process group's id
  UniqueFd stdin_w;   // non-blocking, close-on-exec
  UniqueFd stdout_r;
  UniqueFd stderr_r;
};

/// Spawns `argv` (argv[0] absolute) in `cwd` with exactly `env`.
/// Errors carry posix_spawn's errno and name the command (or the cwd).
Result<Child> spawn_child(const std::vector<std::string>& argv, const std::string& cwd,
                          const std::vector<std::string>& env);

}  // namespace hs::daemon::triggers
