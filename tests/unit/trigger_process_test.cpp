// A trigger's process, with real processes (daemon/triggers/process.hpp):
// exit codes and signals, stdin, bounded output, the timeout that kills
// the whole group (a grandchild too, and one that ignores SIGTERM), cwd
// and environment, and both reapers (pidfd and SIGCHLD).
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "daemon/triggers/process.hpp"
#include "daemon/triggers/reaper.hpp"
#include "tests/catch.hpp"

using namespace hs::daemon::triggers;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Rig {
  boost::asio::io_context io;
  std::unique_ptr<Reaper> reaper;
  explicit Rig(bool sigchld = false) : reaper(sigchld ? make_sigchld_reaper(io) : make_reaper(io)) {
    ::signal(SIGPIPE, SIG_IGN);  // as the daemon does: a command that closes its stdin costs an EPIPE
  }

  ProcessSpec sh(const std::string& script) {
    ProcessSpec s;
    s.argv = {"/bin/sh", "-c", script};
    s.cwd = "/";
    s.env = {"PATH=/usr/bin:/bin"};
    return s;
  }
  // Runs `spec` to its end (or fails the test after `limit`).
  ProcessResult run(ProcessSpec spec, std::chrono::seconds limit = 30s) {
    std::optional<ProcessResult> got;
    auto p = Process::start(io, *reaper, std::move(spec), [&](ProcessResult r) { got = std::move(r); });
    REQUIRE(p);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!got && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(20ms);
    }
    REQUIRE(got);
    return *got;
  }
};

std::string temp_dir() {
  std::string t = (fs::temp_directory_path() / "hs-proc-XXXXXX").string();
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  return t;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Waits (up to 10 s) until `pid` is gone; the kernel may take a moment to
// reap a grandchild that init adopted.
bool gone_soon(pid_t pid) {
  for (int i = 0; i < 500 && alive(pid); ++i) std::this_thread::sleep_for(20ms);
  return !alive(pid);
}

pid_t read_pid(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  in >> pid;
  return pid;
}

}  // namespace

TEST_CASE("trigger process: exit code, output of both streams, and stdin", "[triggers]") {
  for (bool sigchld : {false, true}) {
    Rig r(sigchld);
    auto spec = r.sh("cat; echo to-stderr >&2; exit 3");
    spec.stdin_data = "/a/b\n/c\n";
    auto res = r.run(spec);
    CHECK(res.exit_code == 3);
    CHECK_FALSE(res.signal);
    CHECK_FALSE(res.timed_out);
    CHECK(res.stdout_tail == "/a/b\n/c\n");
    CHECK(res.stderr_tail == "to-stderr\n");
  }
}

TEST_CASE("trigger process: a killed command reports its signal", "[triggers]") {
  Rig r;
  auto res = r.run(r.sh("kill -USR1 $$"));
  CHECK_FALSE(res.exit_code);
  CHECK(res.signal == SIGUSR1);
}

TEST_CASE("trigger process: only the last bytes of output are kept", "[triggers]") {
  Rig r;
  auto spec = r.sh("i=0; while [ $i -lt 4000 ]; do echo line-$i; i=$((i+1)); done; echo the-end");
  spec.output_cap = 1024;
  auto res = r.run(spec);
  CHECK(res.exit_code == 0);
  CHECK(res.stdout_tail.size() == 1024);
  CHECK(res.stdout_tail.substr(res.stdout_tail.size() - 8) == "the-end\n");
}

TEST_CASE("trigger process: a command that never reads a large stdin still ends", "[triggers]") {
  Rig r;
  auto spec = r.sh("exit 0");
  spec.stdin_data.assign(4 << 20, 'x');
  auto res = r.run(spec);
  CHECK(res.exit_code == 0);
}

TEST_CASE("trigger process: cwd and exactly the environment given", "[triggers]") {
  Rig r;
  const std::string dir = temp_dir();
  auto spec = r.sh("pwd; echo \"$ONLY\"; echo \"${HOME-unset}\"");
  spec.cwd = dir;
  spec.env = {"ONLY=this", "PATH=/usr/bin:/bin"};
  auto res = r.run(spec);
  CHECK(res.exit_code == 0);
  CHECK(res.stdout_tail == fs::canonical(dir).string() + "\nthis\nunset\n");
  fs::remove_all(dir);
}

TEST_CASE("trigger process: signals are at their defaults in the command, whatever the daemon ignores",
          "[triggers]") {
  Rig r;  // ignores SIGPIPE, as the daemon does
  auto res = r.run(r.sh("grep SigIgn /proc/self/status"));
  // Signals 1-31 (bits 0-30). glibc's posix_spawn leaves its own two
  // internal real-time signals (32, 33) ignored: nothing sends them.
  REQUIRE(res.stdout_tail.rfind("SigIgn:\t", 0) == 0);
  const unsigned long long ignored = std::stoull(res.stdout_tail.substr(8), nullptr, 16);
  CHECK((ignored & 0x7fffffffULL) == 0);
}

TEST_CASE("trigger process: a command that cannot start is an error, not a run", "[triggers]") {
  Rig r;
  ProcessSpec s;
  s.argv = {"/nonexistent/command"};
  s.cwd = "/";
  auto p = Process::start(r.io, *r.reaper, s, [](ProcessResult) { FAIL("a run that never started ended"); });
  REQUIRE_FALSE(p);
  CHECK(p.error().message().find("/nonexistent/command") != std::string::npos);
  s.argv = {"/bin/true"};
  s.cwd = "/nonexistent/dir";
  auto q = Process::start(r.io, *r.reaper, s, [](ProcessResult) {});
  CHECK_FALSE(q);
}

TEST_CASE("trigger process: the timeout kills the whole group, a grandchild too", "[triggers]") {
  Rig r;
  const std::string dir = temp_dir();
  auto spec = r.sh("sleep 300 & echo $! > " + dir + "/grandchild; wait");
  spec.timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto res = r.run(spec);
  CHECK(res.timed_out);
  CHECK(res.signal == SIGTERM);
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  const pid_t grandchild = read_pid(dir + "/grandchild");
  REQUIRE(grandchild > 0);
  CHECK(gone_soon(grandchild));
  fs::remove_all(dir);
}

TEST_CASE("trigger process: a group that ignores SIGTERM gets SIGKILL after kill_after", "[triggers]") {
  Rig r;
  const std::string dir = temp_dir();
  // The leader and its grandchild both ignore SIGTERM.
  auto spec = r.sh("trap '' TERM; sh -c 'trap \"\" TERM; sleep 300' & echo $! > " + dir + "/grandchild; sleep 300");
  spec.timeout = 200ms;
  spec.kill_after = 300ms;
  auto res = r.run(spec);
  CHECK(res.timed_out);
  CHECK(res.signal == SIGKILL);
  const pid_t grandchild = read_pid(dir + "/grandchild");
  REQUIRE(grandchild > 0);
  CHECK(gone_soon(grandchild));
  fs::remove_all(dir);
}

TEST_CASE("trigger process: what the command leaves running does not keep the run open", "[triggers]") {
  Rig r;
  const std::string dir = temp_dir();
  auto res = r.run(r.sh("sleep 300 & echo $! > " + dir + "/bg; echo done"), 10s);
  CHECK(res.exit_code == 0);
  CHECK(res.stdout_tail == "done\n");
  const pid_t bg = read_pid(dir + "/bg");
  REQUIRE(bg > 0);
  CHECK(alive(bg));  // not timed out: left alone
  ::kill(bg, SIGKILL);
  fs::remove_all(dir);
}

TEST_CASE("trigger process: terminate sends the group SIGTERM and does not count as a timeout", "[triggers]") {
  Rig r;
  std::optional<ProcessResult> got;
  auto p = Process::start(r.io, *r.reaper, r.sh("sleep 300"), [&](ProcessResult res) { got = std::move(res); });
  REQUIRE(p);
  r.io.restart();
  r.io.run_for(50ms);
  (*p)->terminate();
  for (int i = 0; i < 500 && !got; ++i) {
    r.io.restart();
    r.io.run_for(20ms);
  }
  REQUIRE(got);
  CHECK(got->signal == SIGTERM);
  CHECK_FALSE(got->timed_out);
}
