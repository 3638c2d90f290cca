// Learning, on the event loop, that a child exited, with no thread per
// child: a pidfd per child on Linux (reaper_pidfd.cpp), or one SIGCHLD
// signal_set for all of them elsewhere, or when pidfds are missing
// (reaper_sigchld.cpp; the only one built with HS_PORTABLE).
//
// Only the children handed to watch() are waited for (waitpid on their
// pid, never -1), so a child someone else in the process spawned is never
// reaped behind its back.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

namespace hs::daemon::triggers {

class Reaper {
 public:
  /// The child's wait status, as waitpid gives it.
  using OnExit = std::function<void(int status)>;
  virtual ~Reaper() = default;
  /// Calls `on_exit` on the loop once `pid` (a child of ours) has exited,
  /// after reaping it. `on_exit` is never called after the reaper is gone.
  virtual void watch(pid_t pid, OnExit on_exit) = 0;
};

/// The best reaper for this platform, reading on `io`.
std::unique_ptr<Reaper> make_reaper(boost::asio::io_context& io);
/// The SIGCHLD reaper, whatever the platform (for tests of the fallback).
std::unique_ptr<Reaper> make_sigchld_reaper(boost::asio::io_context& io);

}  // namespace hs::daemon::triggers
