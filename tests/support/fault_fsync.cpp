// LD_PRELOAD seam for what cannot be made to fail, or be observed, for real
// here. Used by tests/integration/test_faults.py.
//
// - Fault: while the file named by $HS_FAULT_DIR_FSYNC exists, every fsync
//   of a directory fails with EIO (the failure after a rename). If that file
//   holds "hold", the failing fsync first creates "<file>.held" and waits
//   (up to 10 s) until it is removed: a test acts in the window between
//   the rename and the failure, as another process could.
// - Trace: when $HS_TRACE_FILE is set, each fsync(2), rename(2) and
//   renameat2(2) appends a line to it: "fsync <path>" (the fd's path),
//   "rename <from> <to>" or "renameat2 <from> <to> <flags>". A
//   SIGKILL cannot show a missing fsync (the page cache survives it), but
//   the order of these calls can: temp fsync, rename, directory fsync.
// Everything goes on to the real call.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void trace(const std::string& line) {
  const char* file = std::getenv("HS_TRACE_FILE");
  if (file == nullptr) return;
  int saved = errno;
  int fd = ::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string l = line + "\n";
    // One write(2) per line with O_APPEND: lines from threads never interleave.
    (void)!::write(fd, l.data(), l.size());
    ::close(fd);
  }
  errno = saved;
}

std::string fd_path(int fd) {
  char buf[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n < 0 ? "?" : std::string(buf, static_cast<size_t>(n));
}

void hold(const char* flag) {
  char buf[8] = {};
  int fd = ::open(flag, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n < 4 || std::strncmp(buf, "hold", 4) != 0) return;
  std::string held = std::string(flag) + ".held";
  fd = ::open(held.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  for (int i = 0; i < 10000 && ::access(held.c_str(), F_OK) == 0; ++i) ::usleep(1000);
}

}  // namespace

extern "C" int fsync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fsync"));
  const char* flag = std::getenv("HS_FAULT_DIR_FSYNC");
  struct stat st {};
  if (flag != nullptr && ::access(flag, F_OK) == 0 && ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    hold(flag);
    errno = EIO;
    return -1;
  }
  int r = real(fd);
  if (r == 0) trace("fsync " + fd_path(fd));
  return r;
}

extern "C" int rename(const char* from, const char* to) {
  using Fn = int (*)(const char*, const char*);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "rename"));
  int r = real(from, to);
  if (r == 0) trace(std::string("rename ") + from + " " + to);
  return r;
}

extern "C" int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned int flags) {
  using Fn = int (*)(int, const char*, int, const char*, unsigned int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "renameat2"));
  int r = real(from_dir, from, to_dir, to, flags);
  if (r == 0) trace(std::string("renameat2 ") + from + " " + to + " " + std::to_string(flags));
  return r;
}
