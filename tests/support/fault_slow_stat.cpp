// LD_PRELOAD shim: a stat(2) of a path that contains HS_FAULT_SLOW_STAT_MATCH
// takes 3 s once the file named by HS_FAULT_SLOW_STAT_FLAG exists, as on a
// hung network mount; each slow call appends a line to that flag file, so
// a test knows the daemon really met it. Every other call is untouched.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

void maybe_slow(const char* path) {
  const char* match = std::getenv("HS_FAULT_SLOW_STAT_MATCH");
  const char* flag = std::getenv("HS_FAULT_SLOW_STAT_FLAG");
  if (match == nullptr || flag == nullptr || path == nullptr || std::strstr(path, match) == nullptr) return;
  if (::access(flag, F_OK) != 0) return;
  int fd = ::open(flag, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, "slow\n", 5);
    ::close(fd);
  }
  ::usleep(3000 * 1000);
}

}  // namespace

extern "C" int stat(const char* path, struct stat* st) {
  static auto fn = reinterpret_cast<int (*)(const char*, struct stat*)>(dlsym(RTLD_NEXT, "stat"));
  maybe_slow(path);
  return fn(path, st);
}
