// Which file state.json is right now, to tell the daemon's own writes from
// another process's (docs/STATE.md, "Other writers").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace hs::daemon::store {

/// A file's identity: device, inode, size, and modification and change
/// times to the nanosecond. A replace (a new inode), an edit in place
/// (mtime, size), and even a touch or chmod (ctime) all change it; the same
/// file left alone never does. `exists` is false for a missing file, and the
/// other members are then zero, so two "missing" identities are equal.
struct FileIdentity {
  bool exists = false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
  /// "inode 12, 345 bytes, mtime 1764130000.123456789" or "missing", for logs.
  std::string describe() const;
};

/// The identity of `path` (followed through a symlink, as the load reads
/// it); exists == false when it does not exist. Other stat failures are
/// errors with op and path.
Result<FileIdentity> file_identity(const std::string& path);

}  // namespace hs::daemon::store
