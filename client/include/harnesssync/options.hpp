// harnesssync client library: how Client::connect finds, starts and checks
// the daemon. Included by harnesssync/client.hpp.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

#include <harnesssync/result.hpp>

namespace harnesssync {

struct ClientOptions {
  /// The socket; empty: $HARNESSSYNC_SOCKET, else <runtime dir>/harnesssync/
  /// <name> as docs/PROTOCOL.md ("Socket") says, as the daemon does: the
  /// runtime dir is $XDG_RUNTIME_DIR, else a private ${TMPDIR:-/tmp}/
  /// harnesssync-<uid> (made 0700 here when missing); <name> is
  /// harnesssyncd.sock for ~/.harnesssync, else one derived from the state dir.
  std::string socket_path;
  /// The state dir; empty: $HARNESSSYNC_HOME, else ~/.harnesssync.
  std::string state_dir;
  /// After connecting, check (daemon.info's state_file) that the daemon
  /// serves the state dir, failing with Kind::wrong_daemon when not. Unset:
  /// check when a state dir was named (state_dir, or $HARNESSSYNC_HOME).
  std::optional<bool> check_state_dir;
  /// Start the daemon when nobody answers (also off when HARNESSSYNC_NO_SPAWN=1).
  bool autostart = true;
  /// The harnesssyncd to start; empty: the one next to this program, else $PATH.
  std::string daemon_path;
  /// Per call: connecting, and waiting for each answer.
  std::chrono::milliseconds timeout{10000};
  /// Waiting for a started daemon to be ready.
  std::chrono::milliseconds spawn_timeout{10000};
};

/// The socket path by the rules above (no connection is made).
/// Fails (Kind::usage) when it is longer than a Unix socket address holds,
/// or (Kind::unreachable) when the private runtime dir is not ours alone.
Result<std::string> resolve_socket_path(const ClientOptions& opts);

/// The check of ClientOptions::check_state_dir on a daemon.info answer:
/// Kind::wrong_daemon (one line naming both) when its state_file is not in
/// `state_dir` (compared as real paths), Kind::protocol when it has none.
Result<Done> check_daemon_serves(const boost::json::object& info, const std::string& socket_path,
                                 const std::string& state_dir);

}  // namespace harnesssync
