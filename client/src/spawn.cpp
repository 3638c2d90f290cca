#include "client/src/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <thread>
#include <vector>

#include "client/src/errors.hpp"
#include "common/fs.hpp"
#include "common/result.hpp"
#include "common/state_dir.hpp"

namespace harnesssync::detail {
namespace {

Error spawn_error(Error::Kind kind, std::string message) { return make_error(kind, std::move(message)); }

// The spawn lock serialises starters: whoever holds it is the only one that
// may unlink the socket or start a daemon. Released when the fd closes.
Result<hs::UniqueFd> take_spawn_lock(const std::string& path, Deadline deadline) {
  hs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error(Error::Kind::unreachable, "open " + path, errno);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return errno_error(Error::Kind::unreachable, "lock " + path, errno);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return spawn_error(Error::Kind::timeout, "timed out waiting for another client to start harnesssyncd");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return fd;
}

// harnesssyncd next to this program (so a build tree or an install prefix
// uses its own daemon), else the name alone for posix_spawnp's $PATH search.
std::string find_daemon(const std::string& configured) {
  if (!configured.empty()) return configured;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.erase(dir.rfind('/'));
    std::string candidate = dir + "/harnesssyncd";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "harnesssyncd";
}

// Reads the readiness pipe until a line or EOF: "READY", "ERROR <reason>",
// or "" when the daemon died without a word.
Result<std::string> read_ready_line(int fd, Deadline deadline) {
  std::string line;
  char buf[512];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return spawn_error(Error::Kind::timeout, "timed out waiting for harnesssyncd to start");
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (rc < 0 && errno == EINTR) continue;
    // Any other failure (ENOMEM, ...) would only repeat until the deadline.
    if (rc < 0) return errno_error(Error::Kind::spawn_failed, "wait for harnesssyncd to start: poll", errno);
    if (rc == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return line;
    line.append(buf, static_cast<size_t>(n));
    if (auto nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
  }
}

// Moves `fd` to 4 or above. When the caller runs with stdin, stdout or
// stderr closed, open() hands out 0-3, and the child's dup2s onto 0-3 would
// overwrite the very descriptors it is copying.
int above_stdio(int fd) {
  if (fd < 0 || fd > 3) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 4);
  ::close(fd);
  return moved;
}

// Starts the daemon with `--detach`: the process we start forks first
// thing and exits, so the daemon is not our child (no zombie when it exits
// while we live on, as a library's host may) and leads a process group of
// its own (kill -- -PID stops it alone), out of reach of the signals a
// terminal sends to our job (^C, ^Z, a hangup); stdio to the log.
//
// posix_spawn, not fork: it copies none of our page tables (vfork), and is
// safe in a multithreaded host. The double fork it replaces (us, then an
// intermediate child) cost about 1 ms of a 6 ms cold start; the daemon's
// own fork, made before it has threads or much memory, costs a fraction of
// that (docs/PERFORMANCE.md, "hsctl cold start").
//
// Not in a session of its own (setsid), though: a new session is a new
// scheduler autogroup, and on a busy machine every wake-up of a process in
// a fresh autogroup waits for the other groups' slices, so the spawn, the
// exec and the daemon's start-up each waited milliseconds (8 ms of a 10 ms
// cold start). In our session the start runs in our group, which has the
// CPU we are not using while we wait. A hangup of the terminal signals only
// its session leader and its foreground process group, never this one.
Result<Done> start_daemon(const SpawnPlan& plan, const std::string& log_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return errno_error(Error::Kind::spawn_failed, "pipe", errno);
  hs::UniqueFd rd(pipefd[0]), wr(above_stdio(pipefd[1]));
  const std::string daemon = find_daemon(plan.daemon_path);
  std::vector<std::string> args = {daemon, "--state-dir", plan.state_dir, "--socket", plan.socket_path,
                                   "--ready-fd", "3", "--detach"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) log_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  hs::UniqueFd log(above_stdio(log_fd));
  hs::UniqueFd null(above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));

  // Every descriptor is 4 or above (above_stdio), so no dup2 below
  // overwrites one that a later one copies; dup2 clears O_CLOEXEC on the
  // copy, and the originals close at exec.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
  ::posix_spawn_file_actions_adddup2(&actions, log.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, log.get(), 2);
  ::posix_spawn_file_actions_adddup2(&actions, wr.get(), 3);
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  pid_t child = -1;
  // glibc reports a failed exec here, with its errno.
  const int rc = ::posix_spawnp(&child, argv[0], &actions, &attr, argv.data(), environ);
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  log.reset();
  null.reset();
  wr.reset();  // only the daemon (and the child, until it exits) holds the write end now: EOF means it is gone
  if (rc != 0) return errno_error(Error::Kind::spawn_failed, "harnesssyncd could not start: cannot run " + daemon, rc);
  // The child exits once it has forked the daemon. It is reaped after the
  // daemon's word, not before: waiting for it first would put one more
  // wake-up on the way to READY.
  auto ready = read_ready_line(rd.get(), plan.deadline);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  HS_TRY_ASSIGN(const std::string line, std::move(ready));
  if (line == "READY") return Done{};
  if (line.rfind("ERROR ", 0) == 0) return spawn_error(Error::Kind::spawn_failed, "harnesssyncd could not start: " + line.substr(6));
  return spawn_error(Error::Kind::spawn_failed, "harnesssyncd exited during start-up; see " + log_path);
}

}  // namespace

Result<Connection> connect_spawning(const SpawnPlan& plan, bool* started) {
  *started = false;
  if (auto st = hs::ensure_state_dir(plan.state_dir); !st) {
    return spawn_error(Error::Kind::spawn_failed, "cannot start harnesssyncd: " + st.error().message());
  }
  HS_TRY_ASSIGN(const hs::UniqueFd lock, take_spawn_lock(hs::fs::join(plan.state_dir, "harnesssyncd.spawn.lock"), plan.deadline));
  // Someone may have started the daemon while we waited for the lock.
  int err = 0;
  auto conn = Connection::open(plan.socket_path, plan.deadline, &err);
  if (conn || (err != ENOENT && err != ECONNREFUSED)) return conn;
  // Refused: a socket file nobody listens on. We hold the spawn lock, so no
  // other client is starting a daemon on it right now. (The daemon probes
  // again under its own lock before it binds.)
  if (err == ECONNREFUSED) ::unlink(plan.socket_path.c_str());
  HS_TRY(start_daemon(plan, hs::fs::join(plan.state_dir, hs::kDaemonLogName)));
  *started = true;
  return Connection::open(plan.socket_path, plan.deadline);
}

}  // namespace harnesssync::detail
