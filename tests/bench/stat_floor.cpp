// The floor under a drift that stats every file: the same fstatat(2) calls
// the hashing threads make (relative to each file's open directory, split
// in ranges between threads), and nothing else. live_bench.py runs it on
// its files, so docs/PERFORMANCE.md can compare the daemon with it.
//
// Usage: hs_stat_floor THREADS ROUNDS < paths   (one absolute path a line)
// Prints: "stat floor: N files, T threads: median X ms, best Y ms"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Stats paths[lo, hi), opening each directory once per run of its files.
void stat_range(const std::vector<std::string>& paths, size_t lo, size_t hi) {
  std::string dir;
  int fd = -1;
  for (size_t i = lo; i < hi; ++i) {
    const std::string& p = paths[i];
    const size_t slash = p.rfind('/');
    if (fd < 0 || p.compare(0, slash, dir) != 0 || dir.size() != slash) {
      if (fd >= 0) ::close(fd);
      dir.assign(p, 0, slash);
      fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    struct stat st {};
    if (fd < 0 || ::fstatat(fd, p.c_str() + slash + 1, &st, 0) != 0) {
      std::fprintf(stderr, "hs_stat_floor: cannot stat %s\n", p.c_str());
      std::exit(1);
    }
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: hs_stat_floor THREADS ROUNDS < paths\n");
    return 2;
  }
  const size_t threads = std::max(1, std::atoi(argv[1]));
  const int rounds = std::max(1, std::atoi(argv[2]));
  std::vector<std::string> paths;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line[0] == '/') paths.push_back(line);
  }
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back(stat_range, std::cref(paths), paths.size() * t / threads, paths.size() * (t + 1) / threads);
    }
    for (auto& th : pool) th.join();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("stat floor: %zu files, %zu threads: median %.2f ms, best %.2f ms\n", paths.size(), threads,
              ms[ms.size() / 2], ms.front());
  return 0;
}
