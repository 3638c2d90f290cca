// hsctl lock NAME [--wait SECONDS] [--coalesce] -- COMMAND [ARGS...]: runs
// COMMAND while holding the daemon's lock NAME, like flock(1). With --json
// the outcome is one JSON object on stdout, for programs (an editor's sync
// command), and COMMAND's stdout goes to stderr.
//
// The lock belongs to hsctl's connection (docs/PROTOCOL.md, lock.acquire),
// so hsctl stays alive and connected while COMMAND runs; if hsctl dies the
// lock is released at once. The connection is close-on-exec: COMMAND and
// what it leaves running in the background never hold the lock.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <boost/json.hpp>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace {

volatile sig_atomic_t g_child = 0;

// A signal from the terminal (SI_KERNEL: ^C, hangup) already reached the
// child, which shares hsctl's process group: forwarding it would deliver it
// twice. One sent by a process (kill, systemd, a supervisor) reaches hsctl
// alone and is passed on.
void forward(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  const pid_t child = g_child;
  if (child > 0) ::kill(child, sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

std::string holder_text(const harnesssync::LockResult& r) {
  return r.holder_pid ? "pid " + std::to_string(*r.holder_pid) : std::string("a process of unknown pid");
}

// The outcome for programs (--json): what the daemon answered, and whether
// COMMAND ran and how it ended.
boost::json::object outcome(const std::string& name, const harnesssync::LockResult& r, std::optional<int> status) {
  boost::json::object o{{"name", name},
                        {"acquired", r.acquired},
                        {"coalesced", r.coalesced},
                        {"holder_pid", r.holder_pid ? boost::json::value(*r.holder_pid) : boost::json::value(nullptr)},
                        {"ran", status.has_value()},
                        {"exit_status", status ? boost::json::value(*status) : boost::json::value(nullptr)}};
  if (r.owed) o["owed"] = *r.owed;
  return o;
}

// Runs argv as a child; returns the exit status hsctl should give. With
// stdout_to_stderr, the child's stdout is hsctl's stderr (--json keeps
// hsctl's stdout for its one object).
int run_child(const std::vector<std::string>& command, bool stdout_to_stderr) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Blocked across fork: a signal arriving before g_child is set is held,
  // then forwarded, never lost.
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : kForwarded) sigaddset(&block, s);
  ::sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa {};
  sa.sa_sigaction = forward;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);

  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    std::cerr << "hsctl: cannot start " << command[0] << ": fork: " << std::strerror(err) << "\n";
    return 126;
  }
  if (pid == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s : kForwarded) ::sigaction(s, &dfl, nullptr);
    ::sigaction(SIGPIPE, &dfl, nullptr);  // hsctl ignores it; COMMAND should not
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (stdout_to_stderr) ::dup2(2, 1);
    ::execvp(argv[0], argv.data());
    const int err = errno;
    // hsctl has no threads, so the child may still allocate; it writes with
    // write(2), not the iostreams it shares with the parent.
    std::string msg = "hsctl: cannot run " + command[0] + ": " + std::strerror(err) + "\n";
    ssize_t ignored = ::write(2, msg.data(), msg.size());
    (void)ignored;
    ::_exit(err == ENOENT ? 127 : 126);
  }
  g_child = pid;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::cerr << "hsctl: waitpid: " << std::strerror(errno) << "\n";
      return 126;
    }
  }
  g_child = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 126;
}

}  // namespace

Action setup_lock(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string name;
    double wait_s = -1;
    bool coalesce = false;
    std::vector<std::string> command;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("NAME", a->name, "Lock name: 1-64 of A-Z a-z 0-9 . _ -")->required();
  sub.add_option("--wait", a->wait_s, "Seconds to wait for a busy lock (default: no bound; 0: try once)")
      ->check(CLI::Range(0.0, 1e9))
      ->type_name("SECONDS");
  sub.add_flag("--coalesce", a->coalesce,
               "When busy and another coalescing run already waits, exit 0 at once: that run covers this one");
  sub.add_option("COMMAND", a->command, "The command to run, after --")->required();
  sub.footer(
      "Runs COMMAND while holding the daemon's lock NAME, and exits with its status\n"
      "(128+N if it died of signal N). Waiters are served in the order they asked. The\n"
      "lock belongs to this hsctl: it is released when COMMAND ends or hsctl dies.\n"
      "SIGINT, SIGTERM and SIGHUP sent to hsctl are passed on to COMMAND.\n"
      "Exit 5 (one line naming the holder's pid): busy, not acquired within --wait.\n"
      "With --coalesce: exit 0 and a note on stderr when a run already waiting covers\n"
      "this one. Exit 3 without running COMMAND when the daemon cannot be reached.\n"
      "A hook wraps its sync as: hsctl lock sync --coalesce -- <sync command>\n"
      "\n"
      "With --json (hsctl --json lock ...), for programs: stdout holds one JSON object\n"
      "once the lock was answered, and nothing else (COMMAND's stdout goes to stderr):\n"
      "  {\"name\": NAME, \"acquired\": bool, \"coalesced\": bool, \"holder_pid\": pid|null,\n"
      "   \"ran\": bool, \"exit_status\": N|null, \"owed\": bool (when the daemon says)}\n"
      "coalesced true: a waiting run covers this one (exit 0, COMMAND not run); ran\n"
      "true: COMMAND ran, and exit_status is the status hsctl exits with; acquired\n"
      "false and coalesced false: busy (exit 5). owed true: coalesced callers are owed\n"
      "this run. Errors before the answer print no object (exit 2, 3, 4, 6 or 7).");
  return [&ctx, a]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    // Rounded to the nearest ms by hand (wait_s is in [0, 1e9], checked
    // above): std::llround is hsctl's one use of libm, a shared library
    // loaded, relocated and resolved at every start for it.
    const int64_t wait_ms =
        a->wait_s < 0 ? harnesssync::kWaitForever : static_cast<int64_t>(a->wait_s * 1000 + 0.5);
    auto r = c->lock_acquire(a->name, wait_ms, a->coalesce);
    if (!r) {
      const auto& e = r.error();
      if (e.kind == harnesssync::Error::Kind::rpc && e.code == -32602) {
        return ctx.usage("lock " + a->name + ": " + e.message);
      }
      return ctx.fail(e);
    }
    const bool json = ctx.globals().json;
    if (r->coalesced) {
      if (json) Context::print_json(outcome(a->name, *r, std::nullopt));
      std::cerr << "hsctl: lock " << a->name << " is held by " << holder_text(*r)
                << " and a run is already waiting for it: that run covers this one\n";
      return exit_code::ok;
    }
    if (!r->acquired) {
      if (json) Context::print_json(outcome(a->name, *r, std::nullopt));
      std::cerr << "hsctl: lock " << a->name << " is busy: held by " << holder_text(*r) << "\n";
      return exit_code::lock_busy;
    }
    const int status = run_child(a->command, json);
    // Closing the connection releases the lock too; releasing first says
    // whether the daemon was still there.
    auto released = c->lock_release(a->name);
    if (!released && released.error().kind != harnesssync::Error::Kind::rpc) {
      std::cerr << "hsctl: warning: the connection to harnesssyncd ended while " << a->command[0]
                << " ran, and the lock with it\n";
    }
    if (json) Context::print_json(outcome(a->name, *r, status));
    return status;
  };
}

}  // namespace hsctl
