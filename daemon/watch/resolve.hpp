// How a watched path hangs on directory entries (file_watch.hpp says why):
// resolved as the kernel resolves it, one component at a time and through
// symlinks, noting each (directory, entry) the result depends on.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hs::daemon::watch {

/// A directory, and the name of one of its entries.
using Dep = std::pair<std::string, std::string>;

/// One round of resolving (a set_interest, a flush of events): ancestors
/// that several paths share are lstat'ed once. Make a new one for the next
/// round, since the disk moves on.
class Resolver {
 public:
  /// Relative paths are taken from `cwd` (absolute).
  explicit Resolver(std::string cwd) : cwd_(std::move(cwd)) {}

  /// The entries `path` depends on, sorted, each once. Stops where the
  /// path stops resolving (a missing entry, a file where a directory is
  /// needed, too many links): the entry it needs there is included, so its
  /// appearance is seen.
  std::vector<Dep> deps(const std::string& path);

  /// Which directory is at absolute path `dir` this round: {device, inode},
  /// or nullopt when it is not a directory (lstat'ed once a round, like
  /// the components deps() walks).
  std::optional<std::pair<dev_t, ino_t>> dir_identity(const std::string& dir);

 private:
  struct Node {
    int err = 0;
    bool link = false;
    bool dir = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string target;  // the link's content
  };
  const Node& lstat_of(const std::string& p);

  std::string cwd_;
  std::unordered_map<std::string, Node> memo_;
};

}  // namespace hs::daemon::watch
