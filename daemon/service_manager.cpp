// systemd's side of the daemon without libsystemd: the three protocols are
// small and stable (sd_listen_fds(3), sd_notify(3), sd_watchdog_enabled(3)
// describe them), and linking libsystemd cost every start a dozen shared
// libraries (docs/PERFORMANCE.md, "hsctl cold start"). They are environment
// variables and one datagram on a Unix socket, so they are built on every
// platform, HS_PORTABLE included; launchd's socket is Apple's own call.
#include "daemon/service_manager.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

#if defined(__APPLE__)
#include <launch.h>
#endif

namespace hs::daemon::service {
namespace {

// SD_LISTEN_FDS_START: the first descriptor a manager passes.
constexpr int kListenFdsStart = 3;

// A decimal in [0, max], the whole string; nothing for anything else.
std::optional<unsigned long long> parse_count(std::string_view s, unsigned long long max) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// Whether a variable naming a pid (LISTEN_PID, WATCHDOG_PID) names us. The
// variables outlive an exec of another program that did not clear them: a
// child they were not meant for must not act on them.
bool names_us(const char* pid) {
  auto v = pid == nullptr ? std::nullopt : parse_count(pid, 1ULL << 31);
  return v && static_cast<pid_t>(*v) == ::getpid();
}

bool is_listening_unix_stream(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
#if defined(SO_ACCEPTCONN)
  int listening = 0;
  len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) return false;
#endif
  sockaddr_storage addr {};
  len = sizeof addr;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_UNIX;
}

// LISTEN_PID / LISTEN_FDS (sd_listen_fds(3)). The variables are removed
// once read, as sd_listen_fds(1) does, so no child takes them for its own.
Result<int> systemd_socket() {
  const char* pid = ::getenv("LISTEN_PID");
  const char* fds = ::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return -1;
  const bool ours = names_us(pid);
  const std::string count_text = fds;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return -1;
  auto n = parse_count(count_text, 1 << 16);
  if (!n) return invalid_argument("LISTEN_FDS", "\"" + count_text + "\" is not a count of descriptors");
  if (*n == 0) return -1;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + static_cast<int>(*n); ++fd) {
    // Not for our children (trigger commands); an fd the manager did not
    // really pass (EBADF) is caught below.
    if (int flags = ::fcntl(fd, F_GETFD); flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  if (*n > 1) return invalid_argument("LISTEN_FDS", "expected one socket, got " + std::to_string(*n));
  if (!is_listening_unix_stream(kListenFdsStart)) {
    return invalid_argument("LISTEN_FDS", "fd 3 is not a listening Unix stream socket");
  }
  return kListenFdsStart;
}

#if defined(__APPLE__)
// launchd's Sockets (launch_activate_socket(3)). Written, not built or
// tested here (docs/ARCHITECTURE.md, "Platforms").
Result<int> launchd_socket() {
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
}
#endif

// One datagram to $NOTIFY_SOCKET (sd_notify(3)): a path, or with a leading
// '@' a Linux abstract address. MSG_DONTWAIT: a manager that stopped
// reading must not stall the event loop (the next keep-alive comes soon;
// a lost READY shows in the manager as a start that timed out). Errors are
// logged at debug level only: the daemon serves its clients either way.
void notify(const std::string& message) {
  const char* where = ::getenv("NOTIFY_SOCKET");
  if (where == nullptr || where[0] == '\0') return;
  const std::string_view path = where;
  sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() > sizeof addr.sun_path) {
    log::debug("NOTIFY_SOCKET: not a path or an abstract address: " + std::string(path));
    return;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  // A path needs no NUL inside the address; an abstract name is exactly
  // its bytes, so the length is the name's, never sizeof addr.
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
#if defined(SOCK_CLOEXEC)
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
#else
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM, 0));
#endif
  if (!fd.valid()) {
    log::debug("NOTIFY_SOCKET: socket: " + std::string(std::strerror(errno)));
    return;
  }
#if defined(MSG_NOSIGNAL)
  constexpr int kFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
#else
  constexpr int kFlags = MSG_DONTWAIT;  // SIGPIPE is ignored (run.cpp)
#endif
  if (::sendto(fd.get(), message.data(), message.size(), kFlags, reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    log::debug("NOTIFY_SOCKET " + std::string(path) + ": " + std::strerror(errno));
  }
}

}  // namespace

Result<int> activated_socket() {
  auto fd = systemd_socket();
#if defined(__APPLE__)
  if (fd && *fd < 0) return launchd_socket();
#endif
  return fd;
}

void ready(const std::string& s) { notify("READY=1\nSTATUS=" + s); }
void stopping(const std::string& s) { notify("STOPPING=1\nSTATUS=" + s); }
void watchdog() { notify("WATCHDOG=1"); }

std::chrono::microseconds watchdog_interval() {
  // sd_watchdog_enabled(3): WATCHDOG_USEC, a positive count of
  // microseconds, for us when WATCHDOG_PID is unset or names us. Half of
  // it, as systemd advises, leaves room for a late tick.
  const char* usec = ::getenv("WATCHDOG_USEC");
  if (usec == nullptr) return std::chrono::microseconds(0);
  const char* pid = ::getenv("WATCHDOG_PID");
  if (pid != nullptr && !names_us(pid)) return std::chrono::microseconds(0);
  auto v = parse_count(usec, 1ULL << 62);
  if (!v || *v == 0) {
    log::warn("WATCHDOG_USEC=" + std::string(usec) + " is not a positive count of microseconds; no watchdog");
    return std::chrono::microseconds(0);
  }
  return std::chrono::microseconds(static_cast<int64_t>(*v / 2));
}

}  // namespace hs::daemon::service
