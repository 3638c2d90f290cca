// LD_PRELOAD shim for the torture run (tests/torture/): disk-full and I/O
// errors on the daemon's writes of files in its state dir, switched on and
// off at run time. Sockets and files anywhere else are never touched.
//
// Environment:
//   HS_FAULT_STATE_DIR  the state dir, as a real path (no symlinks)
//   HS_FAULT_CONTROL    a file holding the mode in force; absent or empty: off
//   HS_FAULT_LOG        optional: one line per injected fault,
//                       "<CLOCK_MONOTONIC ns> <call> <errno> <path>"; and,
//                       with no rename mode on, one line per rename into
//                       the dir, just before it: "<ns> rename-seen 0 <path>"
//                       (not a fault: when the daemon renamed, for the
//                       oracle's judgement of check mode's window)
// Modes (the control file's first word):
//   enospc         write/pwrite/writev of a regular file in the dir: ENOSPC
//   eio-write      the same with EIO
//   eio-fsync      fsync/fdatasync of a regular file in the dir: EIO
//   eio-rename     rename/renameat/renameat2 into or out of the dir: EIO
//   eio-dirfsync   fsync of the dir itself (the step after the rename): EIO
//   delay-rename N every rename into the dir waits N ms first, then succeeds:
//                  it widens the window between a writer's last check and
//                  its rename, where another writer's save can land
//   delay-renamed N every rename into the dir succeeds, then waits N ms: it
//                  widens the window between the rename and whatever the
//                  writer does next (such as taking the file's identity)
// The control file is read on every call that may be hit: switching takes
// effect at the next call, with nothing cached. A raw syscall(SYS_renameat2)
// bypasses the shim; glibc's wrappers do not.
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

enum class Call { write, fsync, rename };

template <class Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// The mode in force: "" when off. Errors reading the control file mean off.
std::string mode_word(long* arg) {
  const char* control = std::getenv("HS_FAULT_CONTROL");
  if (control == nullptr) return {};
  int saved = errno;
  std::string word;
  int fd = ::open(control, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n > 0) {
      buf[n] = '\0';
      char w[64] = {};
      long a = 0;
      if (std::sscanf(buf, "%63s %ld", w, &a) >= 1) {
        word = w;
        if (arg != nullptr) *arg = a;
      }
    }
  }
  errno = saved;
  return word;
}

bool in_dir(const std::string& path, bool dir_itself) {
  const char* dir = std::getenv("HS_FAULT_STATE_DIR");
  if (dir == nullptr || *dir == '\0') return false;
  std::string d(dir);
  if (dir_itself) return path == d;
  return path.size() > d.size() + 1 && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/' &&
         path.find('/', d.size() + 1) == std::string::npos;
}

std::string fd_path(int fd) {
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// A rename's path, with its directory resolved the way the shim's dir is.
std::string resolved(int dirfd, const char* path) {
  std::string p(path);
  if (p.empty()) return p;
  if (p[0] != '/') {
    std::string base = dirfd == AT_FDCWD ? std::string() : fd_path(dirfd);
    if (base.empty()) {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd) == nullptr) return p;
      base = cwd;
    }
    p = base + "/" + p;
  }
  auto slash = p.rfind('/');
  std::string dir = slash == 0 ? "/" : p.substr(0, slash);
  char real_dir[PATH_MAX];
  if (::realpath(dir.c_str(), real_dir) == nullptr) return p;
  return std::string(real_dir) + p.substr(slash);
}

void note(const char* call, int err, const std::string& path) {
  const char* log = std::getenv("HS_FAULT_LOG");
  if (log == nullptr) return;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  std::string line = std::to_string(static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec) + " " + call +
                     " " + std::to_string(err) + " " + path + "\n";
  int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  // One write(2) with O_APPEND per line: lines from threads never interleave.
  static auto fn = real<ssize_t (*)(int, const void*, size_t)>("write");
  (void)!fn(fd, line.data(), line.size());
  ::close(fd);
}

// The errno to fail a write-family call on `fd` with, or 0 to let it through.
int write_fault(int fd, const char* call) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;  // sockets, pipes: never
  std::string mode = mode_word(nullptr);
  int err = mode == "enospc" ? ENOSPC : mode == "eio-write" ? EIO : 0;
  if (err == 0) return 0;
  std::string path = fd_path(fd);
  if (!in_dir(path, false)) return 0;
  note(call, err, path);
  return err;
}

int fsync_fault(int fd, const char* call) {
  std::string mode = mode_word(nullptr);
  if (mode != "eio-fsync" && mode != "eio-dirfsync") return 0;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  std::string path = fd_path(fd);
  bool hit = mode == "eio-fsync" ? S_ISREG(st.st_mode) && in_dir(path, false) : S_ISDIR(st.st_mode) && in_dir(path, true);
  if (!hit) return 0;
  note(call, EIO, path);
  return EIO;
}

void sleep_ms(long ms) {
  int saved = errno;
  timespec d{ms / 1000, (ms % 1000) * 1000000};
  while (::nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
  errno = saved;
}

// What to do around a rename: fail it (an errno), or let it through after
// and/or before a pause (*after_ms).
int rename_fault(int fromfd, const char* from, int tofd, const char* to, const char* call, long* after_ms) {
  *after_ms = 0;
  long arg = 0;
  std::string mode = mode_word(&arg);
  if (mode != "eio-rename" && mode != "delay-rename" && mode != "delay-renamed") {
    if (std::getenv("HS_FAULT_LOG") == nullptr) return 0;
    std::string dst = resolved(tofd, to);
    if (in_dir(dst, false)) note("rename-seen", 0, dst);
    return 0;
  }
  std::string src = resolved(fromfd, from);
  std::string dst = resolved(tofd, to);
  if (!in_dir(src, false) && !in_dir(dst, false)) return 0;
  if (mode == "delay-rename") {
    note(call, 0, dst);
    sleep_ms(arg);
    return 0;
  }
  if (mode == "delay-renamed") {
    note(call, 0, dst);
    *after_ms = arg;
    return 0;
  }
  note(call, EIO, dst);
  return EIO;
}

int renamed(int r, long after_ms) {
  if (r == 0 && after_ms > 0) sleep_ms(after_ms);
  return r;
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buf, size_t n) {
  static auto fn = real<ssize_t (*)(int, const void*, size_t)>("write");
  if (int err = write_fault(fd, "write")) {
    errno = err;
    return -1;
  }
  return fn(fd, buf, n);
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  static auto fn = real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (int err = write_fault(fd, "pwrite")) {
    errno = err;
    return -1;
  }
  return fn(fd, buf, n, off);
}

extern "C" ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  static auto fn = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (int err = write_fault(fd, "writev")) {
    errno = err;
    return -1;
  }
  return fn(fd, iov, cnt);
}

extern "C" int fsync(int fd) {
  static auto fn = real<int (*)(int)>("fsync");
  if (int err = fsync_fault(fd, "fsync")) {
    errno = err;
    return -1;
  }
  return fn(fd);
}

extern "C" int fdatasync(int fd) {
  static auto fn = real<int (*)(int)>("fdatasync");
  if (int err = fsync_fault(fd, "fdatasync")) {
    errno = err;
    return -1;
  }
  return fn(fd);
}

extern "C" int rename(const char* from, const char* to) {
  static auto fn = real<int (*)(const char*, const char*)>("rename");
  long after = 0;
  if (int err = rename_fault(AT_FDCWD, from, AT_FDCWD, to, "rename", &after)) {
    errno = err;
    return -1;
  }
  return renamed(fn(from, to), after);
}

extern "C" int renameat(int fromfd, const char* from, int tofd, const char* to) {
  static auto fn = real<int (*)(int, const char*, int, const char*)>("renameat");
  long after = 0;
  if (int err = rename_fault(fromfd, from, tofd, to, "renameat", &after)) {
    errno = err;
    return -1;
  }
  return renamed(fn(fromfd, from, tofd, to), after);
}

extern "C" int renameat2(int fromfd, const char* from, int tofd, const char* to, unsigned flags) {
  static auto fn = real<int (*)(int, const char*, int, const char*, unsigned)>("renameat2");
  long after = 0;
  if (int err = rename_fault(fromfd, from, tofd, to, "renameat2", &after)) {
    errno = err;
    return -1;
  }
  return renamed(fn(fromfd, from, tofd, to, flags), after);
}
