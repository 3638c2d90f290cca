#include "daemon/net/listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fs.hpp"
#include "common/instance_lock.hpp"
#include "common/log.hpp"
#include "common/socket_path.hpp"

namespace hs::daemon::net {
namespace {

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

Status check_private_dir(const std::string& dir) {
  HS_TRY(fs::make_dirs(dir, 0700));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error("stat", dir, errno);
  // Anyone who can write the directory can replace the socket and capture
  // the clients' requests: the directory must be ours alone.
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return unsafe_socket_dir(dir, "is mode " + fs::octal(st.st_mode) + " owned by uid " + std::to_string(st.st_uid) +
                                      "; it must be 0700 and owned by uid " + std::to_string(::geteuid()));
  }
  return {};
}

// True when a daemon accepts connections on `path`.
Result<bool> probe(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return os_error("socket", path, errno);
  sockaddr_un addr = make_addr(path);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  if (errno == ECONNREFUSED || errno == ENOENT) return false;
  return os_error("connect", path, errno);
}

}  // namespace

Result<ListeningSocket> listen_unix(const std::string& path) {
  const std::string dir = fs::split(path).first;
  HS_TRY(check_private_dir(dir));
  // The socket path's own lock, taken before the probe and held for our
  // life: the state dir lock alone does not stop a daemon on another state
  // dir from probing the same path, finding it dead in the instant before
  // our bind, and replacing our live socket.
  HS_TRY_ASSIGN(auto lock, InstanceLock::acquire(path + ".lock", "serves this socket"));

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      Error e = os_error("listen on", path, EEXIST);
      e.detail = "a file that is not a socket is in the way; remove it yourself";
      return e;
    }
    HS_TRY_ASSIGN(const bool live, probe(path));
    if (live) {
      // Alive without holding the lock: a daemon of an older version, or
      // one whose socket a service manager passed in.
      return busy("listen on", path, "another harnesssyncd is already serving this socket");
    }
    // Nobody answers and we hold the socket's lock: a crashed daemon left it.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_error("unlink stale socket", path, errno);
    log::info("removed stale socket " + path);
  } else if (errno != ENOENT) {
    return os_error("stat", path, errno);
  }

  ListeningSocket s;
  s.path = path;
  s.lock.emplace(std::move(lock));
  s.fd = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.fd.valid()) return os_error("socket", path, errno);
  // Bind under a temporary name and rename into place once listening: the
  // socket path never names a bound socket that refuses connections, so a
  // client that finds it refusing may safely take it for dead (PROTOCOL.md's
  // stale-socket rule) even while a daemon is starting. The temporary name
  // must fit sun_path too; when it does not, bind the path directly.
  std::string tmp = fs::join(dir, ".harnesssyncd." + std::to_string(::getpid()) + ".sock");
  const bool via_tmp = tmp.size() <= max_socket_path();
  const std::string& bind_path = via_tmp ? tmp : path;
  if (via_tmp) ::unlink(tmp.c_str());
  sockaddr_un addr = make_addr(bind_path);
  // bind() creates the file with the umask applied: 0177 makes it 0600 from
  // its first moment, not after a window in which others could connect.
  mode_t old = ::umask(0177);
  int rc = ::bind(s.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return os_error("bind", bind_path, err);
  if (::listen(s.fd.get(), SOMAXCONN) != 0) {
    err = errno;
    if (via_tmp) ::unlink(tmp.c_str());
    return os_error("listen", bind_path, err);
  }
  if (via_tmp && ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return os_error("rename to " + path, tmp, err);
  }
  if (::stat(path.c_str(), &st) != 0) return os_error("stat", path, errno);
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  return s;
}

Result<ListeningSocket> adopt_socket(int fd) {
  ListeningSocket s;
  s.fd = UniqueFd(fd);
  s.owned = false;
  sockaddr_un addr {};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return os_error("getsockname", "", errno);
  if (addr.sun_family != AF_UNIX || addr.sun_path[0] == '\0') {
    return invalid_argument("socket", "the passed socket is not a Unix socket with a path");
  }
  // No <socket>.lock: the service manager owns the path, binds it once and
  // hands the same socket to whichever daemon it starts, so two daemons never
  // bind it; a daemon started by hand on that path finds it answering (busy).
  s.path = std::string(addr.sun_path, ::strnlen(addr.sun_path, sizeof addr.sun_path));
  // The manager made the socket non-blocking or not; Asio sets what it needs.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return s;
}

void remove_if_ours(const ListeningSocket& s) {
  if (!s.owned) return;
  struct stat st {};
  if (::lstat(s.path.c_str(), &st) != 0) return;
  if (st.st_dev != s.dev || st.st_ino != s.ino) {
    log::info("socket " + s.path + " was replaced by another process; leaving it");
    return;
  }
  if (::unlink(s.path.c_str()) != 0) log::warn("unlink " + s.path + ": " + std::strerror(errno));
}

}  // namespace hs::daemon::net
