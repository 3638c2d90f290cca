#include "daemon/service_manager.hpp"

#include <sys/socket.h>

#if defined(HS_HAVE_SYSTEMD)
#include <systemd/sd-daemon.h>
#endif
#if defined(__APPLE__)
#include <launch.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace hs::daemon::service {

Result<int> activated_socket() {
#if defined(HS_HAVE_SYSTEMD)
  // unset_environment=1: children (none today) must not think it is theirs.
  int n = sd_listen_fds(1);
  if (n < 0) return os_error("sd_listen_fds", "", -n);
  if (n == 0) return -1;
  if (n > 1) return invalid_argument("LISTEN_FDS", "expected one socket, got " + std::to_string(n));
  int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, /*listening=*/1, nullptr, 0) <= 0) {
    return invalid_argument("LISTEN_FDS", "fd 3 is not a listening Unix stream socket");
  }
  return fd;
#elif defined(__APPLE__)
  int* fds = nullptr;
  size_t count = 0;
  int err = launch_activate_socket("Listeners", &fds, &count);
  if (err == ENOENT || err == ESRCH) return -1;  // not started by launchd with Sockets
  if (err != 0) return os_error("launch_activate_socket", "Listeners", err);
  int fd = count > 0 ? fds[0] : -1;
  for (size_t i = 1; i < count; ++i) ::close(fds[i]);
  ::free(fds);
  if (fd < 0) return invalid_argument("Listeners", "launchd passed no socket");
  return fd;
#else
  return -1;
#endif
}

#if defined(HS_HAVE_SYSTEMD)
void ready(const std::string& s) { sd_notify(0, ("READY=1\nSTATUS=" + s).c_str()); }
void stopping(const std::string& s) { sd_notify(0, ("STOPPING=1\nSTATUS=" + s).c_str()); }
std::chrono::microseconds watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec / 2);
}
void watchdog() { sd_notify(0, "WATCHDOG=1"); }
#else
void ready(const std::string&) {}
void stopping(const std::string&) {}
std::chrono::microseconds watchdog_interval() { return std::chrono::microseconds(0); }
void watchdog() {}
#endif

}  // namespace hs::daemon::service
