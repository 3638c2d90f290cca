#include "daemon/triggers/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>

namespace hs::daemon::triggers {
namespace {

// A pipe whose both ends are close-on-exec (the child gets its end by
// dup2, which clears the flag on the copy) and whose daemon end does not
// block the loop.
Status make_pipe(UniqueFd& read_end, UniqueFd& write_end, bool daemon_reads) {
  int fds[2];
#if defined(__linux__) && !defined(HS_PORTABLE)
  if (::pipe2(fds, O_CLOEXEC) != 0) return os_error("pipe2", "", errno);
#else
  // Only the loop thread spawns, so no other spawn can inherit these
  // between pipe() and fcntl().
  if (::pipe(fds) != 0) return os_error("pipe", "", errno);
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  const int ours = daemon_reads ? fds[0] : fds[1];
  const int flags = ::fcntl(ours, F_GETFL);
  if (flags < 0 || ::fcntl(ours, F_SETFL, flags | O_NONBLOCK) != 0) return os_error("fcntl O_NONBLOCK", "", errno);
  return {};
}

struct Attr {
  posix_spawnattr_t a;
  Attr() { ::posix_spawnattr_init(&a); }
  ~Attr() { ::posix_spawnattr_destroy(&a); }
};
struct Actions {
  posix_spawn_file_actions_t a;
  Actions() { ::posix_spawn_file_actions_init(&a); }
  ~Actions() { ::posix_spawn_file_actions_destroy(&a); }
};

#if defined(__GLIBC__) || defined(__APPLE__)
constexpr bool kHaveAddChdir = true;
#else
constexpr bool kHaveAddChdir = false;
#endif

}  // namespace

Result<Child> spawn_child(const std::vector<std::string>& argv, const std::string& cwd,
                          const std::vector<std::string>& env) {
  Child c;
  UniqueFd in_r, out_w, err_w;
  HS_TRY(make_pipe(in_r, c.stdin_w, false));
  HS_TRY(make_pipe(c.stdout_r, out_w, true));
  HS_TRY(make_pipe(c.stderr_r, err_w, true));

  Attr attr;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr.a, &none);
  ::posix_spawnattr_setsigdefault(&attr.a, &all);
  ::posix_spawnattr_setpgroup(&attr.a, 0);  // a group of its own, led by the child
  ::posix_spawnattr_setflags(&attr.a, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  Actions fa;
  ::posix_spawn_file_actions_adddup2(&fa.a, in_r.get(), 0);
  ::posix_spawn_file_actions_adddup2(&fa.a, out_w.get(), 1);
  ::posix_spawn_file_actions_adddup2(&fa.a, err_w.get(), 2);

  std::vector<std::string> args = argv;
  if constexpr (kHaveAddChdir) {
#if defined(__GLIBC__) || defined(__APPLE__)
    ::posix_spawn_file_actions_addchdir_np(&fa.a, cwd.c_str());
#endif
  } else {
    // No chdir file action: a shell changes directory, then execs.
    args = {"/bin/sh", "-c", "cd -- \"$0\" && exec \"$@\"", cwd};
    args.insert(args.end(), argv.begin(), argv.end());
  }
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, cargv[0], &fa.a, &attr.a, cargv.data(), cenv.data());
  if (err != 0) {
    // glibc reports a failed chdir or exec here; name what failed in words.
    Error e = os_error("start", argv[0], err);
    if (err == ENOENT || err == EACCES || err == ENOTDIR) e.detail = std::string("cannot run ") + argv[0] + " in " + cwd;
    return e;
  }
  c.pid = pid;
  return c;
}

}  // namespace hs::daemon::triggers
