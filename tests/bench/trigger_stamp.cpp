// The command of the trigger benchmark (tests/bench/trigger_bench.py): appends
// the wall clock (CLOCK_REALTIME, ns) to the file argv[1] as its first act,
// then reads its stdin to the end. A compiled program, so that what is
// measured is the daemon's latency and posix_spawn, not a shell's start-up.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (argc < 2) return 2;
  char line[64];
  const int n = std::snprintf(line, sizeof line, "%lld\n", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  const int fd = ::open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, line, static_cast<size_t>(n)) != n) return 1;
  ::close(fd);
  char buf[4096];
  while (::read(0, buf, sizeof buf) > 0) {
  }
  return 0;
}
