// harnesssync client library: how Client::connect finds, starts and checks
// the daemon. Included by harnesssync/client.hpp.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
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
  /// Called once with the daemon.info answer fetched when connecting, after
  /// the check of check_state_dir passed: for a caller that reads daemon.info
  /// anyway (a version check) without a round trip of its own. Setting it
  /// makes connect() fetch daemon.info even with the check off. An Error it
  /// returns fails as the check does. It runs inside connect() or the first
  /// call, and must not call the Client.
  std::function<Result<Done>(const boost::json::object& info)> on_info;
  /// Send the daemon.info of the check (and of on_info) together with the
  /// first call instead of before it: one round trip instead of two for a
  /// process that connects to make one call. connect() then does not wait
  /// for that answer, so a wrong daemon (or on_info's Error) fails the first
  /// call, and every call after it, instead of connect(). The check still
  /// comes first: a first call that only reads (daemon.info, daemon.ping,
  /// rpc.discover, state.drift, state.target, state.all, state.account,
  /// state.accounts, hash.files, lock.list, plugins.status, plugins.drift,
  /// health.history) is sent at once, but its answer is used only once the
  /// check passed; any other call is sent only once the check passed, so
  /// nothing is ever changed, locked or subscribed to on a wrong daemon.
  bool pipeline_check = false;
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
