// The file system half of one FileWatch round, run on the watch's worker
// thread and never on the event loop: every call here may hang on a dead
// network or FUSE mount (lstat of each path component, the watched
// directory's lstat, statfs, inotify_add_watch or a polling backend's first
// listing, stat of a polled file), and must delay only the requests that
// need its answer (file_watch.hpp says how the loop waits for it).
//
// The loop hands over a copy of what it knows (which directories are
// watched, on which inode); the worker returns what it found and what it
// watched anew. It changes nothing the loop owns: FileWatch applies the
// result on the loop (file_watch_round.cpp), where it also accounts for
// what happened meanwhile.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/file_stat.hpp"
#include "daemon/watch/resolve.hpp"
#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

/// How a directory is watched.
struct Arming {
  int handle = -1;  // the backend's; -1: not watched
  int err = 0;      // why not (ENOSPC: out of watches; EREMOTE: no events there)
  // Which directory the watch is on: lstat'ed just before it was added.
  // When the path's directory is another one (it, or an ancestor, was
  // renamed away and replaced), the watch still follows the old inode.
  dev_t dev = 0;
  ino_t ino = 0;
};

/// {errno, stat} of a path, what polling compares.
using Snapshot = std::pair<int, FileStat>;
/// stat(2) of `path` as a Snapshot.
Snapshot snapshot(const std::string& path);

/// What a round is asked to do, made on the loop.
struct RoundWork {
  std::string cwd;
  size_t max_watches = 0;  // 0: as many as the OS gives
  std::vector<int> release;                      // handles no directory uses any more: released first
  std::unordered_map<int, size_t> uses;          // handle -> directories using it (the watches in use)
  std::unordered_map<std::string, Arming> dirs;  // every directory the loop knows, as it knows it
  std::vector<std::string> resolve;              // paths to resolve (and watch what they hang on)
  std::vector<std::string> retry;                // unwatched directories to try again
  std::vector<std::string> stat;                 // polled paths to stat
};

/// What a round found.
struct RoundResult {
  struct Dir {
    Arming now;
    bool replaced = false;  // watched, but another directory is at its path now: watched anew
  };
  std::vector<std::vector<Dep>> deps;         // per RoundWork::resolve
  std::vector<std::optional<Snapshot>> snaps;  // per RoundWork::resolve: when not every directory is watched
  std::unordered_map<std::string, Dir> dirs;  // directories whose watch was added or tried
  std::vector<Snapshot> stats;                // per RoundWork::stat
};

/// Runs `work` (on the worker). `backend` may be null (no watches at all);
/// its add_dir and remove are only called from here.
RoundResult run_round(Backend* backend, RoundWork& work);

}  // namespace hs::daemon::watch
