// The single-writer lock: an exclusive flock on <state dir>/harnesssyncd.lock,
// holding the owner's pid. The daemon takes a second one, <socket>.lock, for
// its socket path (daemon/listener.cpp). The kernel drops the lock when the process dies,
// even by SIGKILL, so a crash never leaves a stale lock behind.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs {

class InstanceLock {
 public:
  /// Takes the lock without waiting and writes this process's pid into it.
  /// Fails with Errc::busy (the detail names the holder's pid) when another
  /// process holds it, or Errc::os. `held` ends the busy detail:
  /// "another harnesssyncd (pid N) <held>".
  static Result<InstanceLock> acquire(const std::string& path, std::string_view held = "is running");

 private:
  explicit InstanceLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // the lock lives as long as this descriptor
};

/// The pid written in a lock file, or -1 when there is none.
long read_lock_pid(const std::string& path);

}  // namespace hs
