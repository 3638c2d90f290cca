// What the stat cache remembers of a file: enough to notice any change that
// can be noticed without reading it (git's index keeps the same fields).
// ctime is the one a user cannot set: `touch -d` restores mtime, but the
// ctime of the edit and of the touch itself stays.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hs {

struct FileStat {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;

  bool operator==(const FileStat&) const = default;

  static FileStat of(const struct stat& st) {
    FileStat f;
    f.dev = static_cast<uint64_t>(st.st_dev);
    f.ino = static_cast<uint64_t>(st.st_ino);
    f.size = static_cast<int64_t>(st.st_size);
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    f.mode = static_cast<uint32_t>(st.st_mode);
    return f;
  }
  /// stat(2), following symlinks as hashing does; nullopt on any error.
  static std::optional<FileStat> of_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return of(st);
  }
};

/// The racy rule (git's "racily clean" entries): a file whose mtime or
/// ctime is not older than the start of its hashing, give or take the file
/// system's timestamp granularity, may change again within the same
/// timestamp, so its stat cannot vouch for its content next time. The
/// margin covers coarse kernel clocks (a jiffy behind real time) and file
/// systems with 1 s or 2 s timestamps (ext3, FAT).
inline constexpr int64_t kRacyMarginNs = int64_t{2} * 1000000000;
inline bool racy(const FileStat& st, int64_t hash_started_ns) {
  return st.mtime_ns >= hash_started_ns - kRacyMarginNs || st.ctime_ns >= hash_started_ns - kRacyMarginNs;
}

}  // namespace hs
