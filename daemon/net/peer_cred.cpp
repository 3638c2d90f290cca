#include "daemon/net/peer_cred.hpp"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

namespace hs::daemon::net {

long peer_uid(int fd) {
#if defined(SO_PEERCRED)
  ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return static_cast<long>(cred.uid);
#else
  uid_t uid;
  gid_t gid;
  if (::getpeereid(fd, &uid, &gid) != 0) return -1;
  return static_cast<long>(uid);
#endif
}

long peer_pid(int fd) {
#if defined(SO_PEERCRED)
  ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) return -1;
  return static_cast<long>(cred.pid);
#elif defined(LOCAL_PEERPID)
  pid_t pid = 0;
  socklen_t len = sizeof pid;
  if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) != 0 || pid <= 0) return -1;
  return static_cast<long>(pid);
#else
  (void)fd;
  return -1;
#endif
}

}  // namespace hs::daemon::net
