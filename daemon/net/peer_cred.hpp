// Who is on the other end of a Unix socket, as the kernel recorded it when
// the peer connected. The one place that asks: SO_PEERCRED on Linux,
// getpeereid and LOCAL_PEERPID where those are what the OS has.
#pragma once

namespace hs::daemon::net {

/// The peer's uid (SO_PEERCRED / getpeereid), or -1 when it cannot be read.
long peer_uid(int fd);
/// The peer's pid as the kernel recorded it when it connected (SO_PEERCRED,
/// LOCAL_PEERPID), or -1 when it cannot be read (or is 0: a peer in another
/// pid namespace).
long peer_pid(int fd);

}  // namespace hs::daemon::net
