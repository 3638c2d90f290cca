// The service manager's side of the daemon: a listening socket it passes
// in (systemd socket activation, launchd Sockets), readiness and stopping
// notifications, status lines and the watchdog. Everything here is a no-op
// when the daemon runs on its own. systemd's protocols are implemented here
// (no libsystemd) and built everywhere; launchd's call only on Apple.
#pragma once

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace hs::daemon::service {

/// The listening socket handed to us (systemd LISTEN_FDS/LISTEN_PID, or
/// launchd's "Listeners"), or -1 when there is none. Errc::invalid_argument
/// when what was passed is not one listening Unix stream socket, or
/// LISTEN_FDS is not a count. Removes LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES from the environment; call it before any thread starts.
Result<int> activated_socket();

/// READY=1 with a STATUS= line, to $NOTIFY_SOCKET (sd_notify).
void ready(const std::string& status);
/// STOPPING=1 with a STATUS= line.
void stopping(const std::string& status);
/// Half of WATCHDOG_USEC when the manager wants keep-alives from this
/// process (WATCHDOG_PID unset or ours), else 0.
std::chrono::microseconds watchdog_interval();
/// WATCHDOG=1.
void watchdog();

}  // namespace hs::daemon::service
