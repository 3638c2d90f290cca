#include "daemon/store/file_identity.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace hs::daemon::store {
namespace {

int64_t nanos(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

std::string seconds(int64_t ns) {
  std::string frac = std::to_string(ns % 1'000'000'000);
  return std::to_string(ns / 1'000'000'000) + "." + std::string(9 - frac.size(), '0') + frac;
}

}  // namespace

std::string FileIdentity::describe() const {
  if (!exists) return "missing";
  return "inode " + std::to_string(ino) + ", " + std::to_string(size) + " bytes, mtime " + seconds(mtime_ns) +
         ", ctime " + seconds(ctime_ns);
}

Result<FileIdentity> file_identity(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileIdentity{};
    return os_error("stat", path, errno);
  }
  FileIdentity id;
  id.exists = true;
  id.dev = static_cast<uint64_t>(st.st_dev);
  id.ino = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<int64_t>(st.st_size);
#ifdef __APPLE__
  id.mtime_ns = nanos(st.st_mtimespec);
  id.ctime_ns = nanos(st.st_ctimespec);
#else
  id.mtime_ns = nanos(st.st_mtim);
  id.ctime_ns = nanos(st.st_ctim);
#endif
  return id;
}

}  // namespace hs::daemon::store
