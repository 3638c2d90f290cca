// The listening Unix socket (PROTOCOL.md, "Socket"): a private directory, a
// stale socket replaced only after a connect probe, and removal on exit only
// if the file is still the one this process created.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/instance_lock.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::net {

struct ListeningSocket {
  UniqueFd fd;       // bound and listening
  std::string path;
  dev_t dev = 0;     // identity of the socket file we created
  ino_t ino = 0;
  bool owned = true; // false for a socket the service manager passed in: it is theirs to remove
  // <path>.lock, held for the daemon's life (none for an adopted socket);
  // declared last so that it is released only after the socket is removed.
  std::optional<InstanceLock> lock;
};

/// Creates the socket's directory (0700) when missing and refuses one that is
/// not ours or is open to others (Errc::unsafe_socket_dir). Then takes the
/// socket path's own lock, `<path>.lock` (0600, holding our pid): Errc::busy,
/// naming the holder's pid, when another daemon has it, whatever its state
/// dir. Under that lock an existing socket is probed: Errc::busy when a
/// daemon answers on it; otherwise it is stale and is replaced.
Result<ListeningSocket> listen_unix(const std::string& path);

/// Adopts a listening socket passed in by systemd or launchd: its path is
/// read back from the socket itself, and it is never removed by us.
Result<ListeningSocket> adopt_socket(int fd);

/// Removes the socket file if it is ours and still the one `s` created (same
/// device and inode): a newer daemon's socket is never removed.
void remove_if_ours(const ListeningSocket& s);

}  // namespace hs::daemon::net
