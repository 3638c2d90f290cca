#include "daemon/net/peer_cred.hpp"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/platform.hpp"

#if !HS_HAVE_SO_PEERCRED && defined(__FreeBSD__)
#include <sys/ucred.h>
#endif

namespace hs::daemon::net {
namespace {

#if !HS_HAVE_SO_PEERCRED
#if defined(__linux__)
// The stand-in for BSD's getpeereid(3), which glibc lacks, so that the
// portable build (HS_PORTABLE) runs the path macOS and the BSDs take: the
// uid and gid from the kernel, and no pid. Linux has only SO_PEERCRED to
// build it on; what it knows of the pid is dropped here, as getpeereid
// never reports one.
int getpeereid(int fd, uid_t* uid, gid_t* gid) {
  ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  *uid = cred.uid;
  *gid = cred.gid;
  return 0;
}
#else
using ::getpeereid;
#endif
#endif

}  // namespace

long peer_uid(int fd) {
#if HS_HAVE_SO_PEERCRED
  ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return static_cast<long>(cred.uid);
#else
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) return -1;
  return static_cast<long>(uid);
#endif
}

long peer_pid(int fd) {
#if HS_HAVE_SO_PEERCRED
  ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) return -1;
  return static_cast<long>(cred.pid);
#elif defined(__APPLE__) && defined(LOCAL_PEERPID)
  // macOS: written, not built or tested here (docs/ARCHITECTURE.md, "Platforms").
  pid_t pid = 0;
  socklen_t len = sizeof pid;
  if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) != 0 || pid <= 0) return -1;
  return static_cast<long>(pid);
#elif defined(__FreeBSD__) && defined(LOCAL_PEERCRED)
  // FreeBSD 13 and later fill xucred's cr_pid (older ones leave it 0: no
  // pid). Written, not built or tested here.
  xucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &cred, &len) != 0 || cred.cr_version != XUCRED_VERSION ||
      cred.cr_pid <= 0) {
    return -1;
  }
  return static_cast<long>(cred.cr_pid);
#else
  (void)fd;  // getpeereid has no pid: every caller takes -1 as "unknown"
  return -1;
#endif
}

}  // namespace hs::daemon::net
