// LD_PRELOAD shim: reading an inotify descriptor fails with EIO once the
// file named by HS_FAULT_INOTIFY_FLAG exists (checked on every read of
// one). Every other descriptor, and inotify before the flag, is untouched.
// The descriptors are those inotify_init/inotify_init1 returned.
// HS_FAULT_INOTIFY_INIT=1: inotify_init/inotify_init1 fail (EMFILE, as out
// of instances), so that the daemon polls everything (a whole suite can run
// on the polling backend this way).
#include <dlfcn.h>
#include <sys/inotify.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace {

template <class Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

constexpr int kMaxFd = 4096;
std::atomic<bool> g_inotify[kMaxFd];

int noted(int fd) {
  if (fd >= 0 && fd < kMaxFd) g_inotify[fd].store(true);
  return fd;
}

bool failing(int fd) {
  if (fd < 0 || fd >= kMaxFd || !g_inotify[fd].load()) return false;
  const char* flag = std::getenv("HS_FAULT_INOTIFY_FLAG");
  return flag != nullptr && ::access(flag, F_OK) == 0;
}

bool init_fails() {
  const char* v = std::getenv("HS_FAULT_INOTIFY_INIT");
  if (v == nullptr || v[0] != '1') return false;
  errno = EMFILE;
  return true;
}

}  // namespace

extern "C" {

int inotify_init1(int flags) {
  static auto fn = real<int (*)(int)>("inotify_init1");
  if (init_fails()) return -1;
  return noted(fn(flags));
}

int inotify_init() {
  static auto fn = real<int (*)()>("inotify_init");
  if (init_fails()) return -1;
  return noted(fn());
}

int close(int fd) {
  static auto fn = real<int (*)(int)>("close");
  if (fd >= 0 && fd < kMaxFd) g_inotify[fd].store(false);
  return fn(fd);
}

ssize_t read(int fd, void* buf, size_t n) {
  static auto fn = real<ssize_t (*)(int, void*, size_t)>("read");
  if (failing(fd)) {
    errno = EIO;
    return -1;
  }
  return fn(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec* iov, int n) {
  static auto fn = real<ssize_t (*)(int, const struct iovec*, int)>("readv");
  if (failing(fd)) {
    errno = EIO;
    return -1;
  }
  return fn(fd, iov, n);
}

}  // extern "C"
