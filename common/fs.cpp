#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

namespace hs::fs {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error("open", path, errno);
  return UniqueFd(fd);
}

const char* file_type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFIFO: return "FIFO";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFLNK: return "symbolic link";
    default: return "file of unknown type";
  }
}

namespace {

Error not_regular_file(const std::string& path, mode_t mode) {
  return not_regular("open", path, std::string("is a ") + file_type_name(mode) + ", not a regular file");
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  // forever (and a read would wait for data). It has no effect on the regular
  // files we go on to read. O_NOCTTY: a terminal must not become ours.
  auto fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) {
    // A socket cannot be opened at all (ENXIO): name what it is instead.
    struct stat st {};
    if (fd.error().sys_errno == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return not_regular_file(path, st.st_mode);
    }
    return std::move(fd).error();
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return os_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) return not_regular_file(path, st.st_mode);
  std::string out;
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_all(int fd, std::string_view data, const std::string& path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("write", path_for_errors, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status durable_sync(int fd, const std::string& path_for_errors) {
#if defined(F_FULLFSYNC)
  // macOS (written, not built or tested here: docs/ARCHITECTURE.md,
  // "Platforms"). Some file systems (network ones, FAT) refuse it; plain
  // fsync is then the most they offer.
  if (::fcntl(fd, F_FULLFSYNC) == 0) return {};
#endif
  if (::fsync(fd) != 0) return os_error("fsync", path_for_errors, errno);
  return {};
}

Status fsync_dir(const std::string& dir) {
  auto fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::move(fd).error();
  return durable_sync(fd->get(), dir);
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return os_error("opendir", dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* ent = ::readdir(d.get());
    if (ent == nullptr) {
      if (errno != 0) return os_error("readdir", dir, errno);
      break;
    }
    std::string_view name = ent->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  return names;
}

Status make_dirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return invalid_argument("directory", "empty path");
  // Walk the components left to right; mkdir each, treating EEXIST as fine.
  for (size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return os_error("mkdir", prefix, errno);
    }
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return os_error("mkdir", dir, ENOTDIR);
  return {};
}

std::string join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::pair<std::string, std::string> split(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {".", std::string(path)};
  return {slash == 0 ? "/" : std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace hs::fs
