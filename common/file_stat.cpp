#include "common/file_stat.hpp"

#include <cerrno>

#include "common/error.hpp"

namespace hs {
namespace {

std::string seconds(int64_t ns) {
  std::string frac = std::to_string(ns % 1'000'000'000);
  return std::to_string(ns / 1'000'000'000) + "." + std::string(9 - frac.size(), '0') + frac;
}

}  // namespace

std::string FileStat::describe() const {
  return "inode " + std::to_string(ino) + ", " + std::to_string(size) + " bytes, mtime " + seconds(mtime_ns) +
         ", ctime " + seconds(ctime_ns);
}

std::string describe(const std::optional<FileStat>& st) { return st ? st->describe() : "missing"; }

Result<std::optional<FileStat>> stat_if_exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<FileStat>();
    return os_error("stat", path, errno);
  }
  return std::optional<FileStat>(FileStat::of(st));
}

}  // namespace hs
