// Crash consistency: a child writes in a loop and is killed with SIGKILL at
// random moments. After every kill, state.json must parse and hold every
// record the child reported as durable.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <random>

#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

namespace json = boost::json;

namespace {

struct Child {
  pid_t pid;
  int out;
};

Child spawn_writer(const std::string& dir, long start) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    std::string s = std::to_string(start);
    ::execl(HS_CRASH_WRITER, HS_CRASH_WRITER, dir.c_str(), s.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's output until `deadline`, or to EOF when `deadline` is max().
void pump(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    int wait_ms = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, wait_ms);
    if (rc == 0) return;
    if (rc < 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    out.append(buf, static_cast<size_t>(n));
  }
}

long last_reported(const std::string& out) {
  // Only complete lines count: a number cut by the kill was not acknowledged.
  auto end = out.rfind('\n');
  if (end == std::string::npos) return -1;
  auto begin = out.rfind('\n', end - 1);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return std::stol(out.substr(begin, end - begin));
}

}  // namespace

TEST_CASE("SIGKILL at random moments never loses an acknowledged write", "[crash]") {
  hs::test::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_us(0, 40000);
  long next = 0;
  long acknowledged = -1;
  int kills_mid_run = 0;
  for (int round = 0; round < 60; ++round) {
    Child c = spawn_writer(dir.path(), next);
    std::string out;
    // Even rounds time the kill from the start (kills during start-up and the
    // first write). Odd rounds time it from the first acknowledged write, so
    // that they kill mid-run however slowly the child starts: a sanitizer
    // build on a loaded machine can take longer than any fixed delay.
    if (round % 2 == 1) {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
        pump(c.out, out, std::min(give_up, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
      }
    }
    pump(c.out, out, std::chrono::steady_clock::now() + std::chrono::microseconds(delay_us(rng)));
    ::kill(c.pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
    REQUIRE(WIFSIGNALED(status));
    pump(c.out, out, std::chrono::steady_clock::time_point::max());
    ::close(c.out);
    long last = last_reported(out);
    if (last >= 0) {
      ++kills_mid_run;
      acknowledged = last;
      next = last + 1;
    }
    if (acknowledged < 0) continue;

    INFO("round " << round << ", acknowledged up to " << acknowledged);
    // The file parses (never a mix or a truncation) ...
    json::value doc = json::parse(hs::test::slurp(dir / "state.json"));
    const auto& targets = doc.at("targets").as_object();
    // ... and holds every acknowledged record: target t<j % 64> carries
    // items_synced >= j for each of the last 64 acknowledged j.
    for (long j = std::max(0L, acknowledged - 63); j <= acknowledged; ++j) {
      const std::string t = "t" + std::to_string(j % 64);
      REQUIRE(targets.contains(t));
      CHECK(targets.at(t).at("items_synced").as_int64() >= j);
    }
    // A record the child started but did not report may be there too; the
    // next child starts after the highest one on disk.
    for (const auto& kv : targets) next = std::max(next, static_cast<long>(kv.value().at("items_synced").as_int64()) + 1);
  }
  CHECK(kills_mid_run > 10);
}
