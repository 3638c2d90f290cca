// LD_PRELOAD shim: a stat(2) or lstat(2) of a matching path takes 3 s (or
// HS_FAULT_SLOW_STAT_MS) once the file named by HS_FAULT_SLOW_STAT_FLAG
// exists, as on a hung network mount; each slow call appends a line to that
// flag file, so a test knows the daemon really met it. A path matches
// HS_FAULT_SLOW_STAT_MATCH when it contains it, or, when the match starts
// with "/", when it starts with it (one mount's prefix). Every other call is
// untouched.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

bool matches(const char* path, const char* match) {
  if (match[0] == '/') return std::strncmp(path, match, std::strlen(match)) == 0;
  return std::strstr(path, match) != nullptr;
}

void maybe_slow(const char* path) {
  const char* match = std::getenv("HS_FAULT_SLOW_STAT_MATCH");
  const char* flag = std::getenv("HS_FAULT_SLOW_STAT_FLAG");
  if (match == nullptr || flag == nullptr || path == nullptr || match[0] == '\0' || !matches(path, match)) return;
  if (::access(flag, F_OK) != 0) return;
  int fd = ::open(flag, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, "slow\n", 5);
    ::close(fd);
  }
  long ms = 3000;
  if (const char* v = std::getenv("HS_FAULT_SLOW_STAT_MS")) ms = std::strtol(v, nullptr, 10);
  ::usleep(static_cast<useconds_t>(ms) * 1000);
}

}  // namespace

extern "C" int stat(const char* path, struct stat* st) {
  static auto fn = reinterpret_cast<int (*)(const char*, struct stat*)>(dlsym(RTLD_NEXT, "stat"));
  maybe_slow(path);
  return fn(path, st);
}

extern "C" int lstat(const char* path, struct stat* st) {
  static auto fn = reinterpret_cast<int (*)(const char*, struct stat*)>(dlsym(RTLD_NEXT, "lstat"));
  maybe_slow(path);
  return fn(path, st);
}
