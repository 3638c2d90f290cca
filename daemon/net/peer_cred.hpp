// Who is on the other end of a Unix socket, as the kernel recorded it when
// the peer connected. The one place that asks: SO_PEERCRED on Linux;
// getpeereid(3) for the uid where SO_PEERCRED is off (HS_PORTABLE, macOS,
// the BSDs), with LOCAL_PEERPID (macOS) or LOCAL_PEERCRED (FreeBSD) for the
// pid, and no pid at all where the OS offers none.
#pragma once

namespace hs::daemon::net {

/// The peer's uid (SO_PEERCRED / getpeereid), or -1 when it cannot be read.
long peer_uid(int fd);
/// The peer's pid as the kernel recorded it when it connected (SO_PEERCRED,
/// LOCAL_PEERPID), or -1 when it cannot be read, is 0 (a peer in another
/// pid namespace), or the build has no way to ask (getpeereid alone: the
/// HS_PORTABLE build on Linux). Every user takes -1 as "unknown".
long peer_pid(int fd);

}  // namespace hs::daemon::net
