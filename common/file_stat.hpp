// What stat(2) says of a file, in the one form the project keeps: enough to
// notice any change that can be noticed without reading it (git's index
// keeps the same fields). A replace (a new inode), an edit in place (mtime,
// size), even a touch or a chmod (ctime) all change it; the same file left
// alone never does. ctime is the one a user cannot set: `touch -d` restores
// mtime, but the ctime of the edit and of the touch itself stays.
// The stat cache (daemon/hashing) and the store's identity check of
// state.json (docs/STATE.md, "Other writers") both use it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace hs {

struct FileStat {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;

  bool operator==(const FileStat&) const = default;

  /// The one place a struct stat becomes a FileStat.
  static FileStat of(const struct stat& st) {
    FileStat f;
    f.dev = static_cast<uint64_t>(st.st_dev);
    f.ino = static_cast<uint64_t>(st.st_ino);
    f.size = static_cast<int64_t>(st.st_size);
#ifdef __APPLE__
    f.mtime_ns = static_cast<int64_t>(st.st_mtimespec.tv_sec) * 1000000000 + st.st_mtimespec.tv_nsec;
    f.ctime_ns = static_cast<int64_t>(st.st_ctimespec.tv_sec) * 1000000000 + st.st_ctimespec.tv_nsec;
#else
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
#endif
    f.mode = static_cast<uint32_t>(st.st_mode);
    return f;
  }
  /// stat(2), following symlinks as hashing does; nullopt on any error.
  static std::optional<FileStat> of_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return of(st);
  }

  /// "inode 12, 345 bytes, mtime 1764130000.123456789, ctime ...", for logs.
  std::string describe() const;
};

/// stat(2) of `path`, following symlinks: its FileStat, or nullopt when
/// there is no such file (ENOENT: a missing file is not an error here).
/// Any other failure is an error naming the path.
Result<std::optional<FileStat>> stat_if_exists(const std::string& path);

/// FileStat::describe(), or "missing".
std::string describe(const std::optional<FileStat>& st);

}  // namespace hs
