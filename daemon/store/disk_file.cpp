#include "daemon/store/disk_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.hpp"

namespace hs::daemon::store {

Result<FileStat> fstat_kept(int fd, const std::string& path_for_errors) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error("fstat", path_for_errors, errno);
  return FileStat::of(st);
}

Result<std::optional<ReadFile>> read_kept(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a
  // terminal must not become ours.
  auto fd = fs::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) {
    if (fd.error().sys_errno == ENOENT) return std::optional<ReadFile>();
    // A socket cannot be opened at all (ENXIO): name what it is instead.
    struct stat st {};
    if (fd.error().sys_errno == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return not_regular("open", path, std::string("is a ") + fs::file_type_name(st.st_mode) + ", not a regular file");
    }
    return std::move(fd).error();
  }
  HS_TRY_ASSIGN(const FileStat before, fstat_kept(fd->get(), path));
  if (!S_ISREG(before.mode)) {
    return not_regular("open", path, std::string("is a ") + fs::file_type_name(before.mode) + ", not a regular file");
  }
  ReadFile out;
  if (before.size > 0) out.text.reserve(static_cast<size_t>(before.size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", path, errno);
    }
    if (n == 0) break;
    out.text.append(buf, static_cast<size_t>(n));
  }
  HS_TRY_ASSIGN(const FileStat after, fstat_kept(fd->get(), path));
  out.changing = !(after == before);
  out.file = std::make_shared<KeptFile>(KeptFile{std::move(*fd), before});
  return std::optional<ReadFile>(std::move(out));
}

}  // namespace hs::daemon::store
