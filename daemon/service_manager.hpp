// The service manager's side of the daemon: a listening socket it passes
// in (systemd socket activation, launchd Sockets), readiness and stopping
// notifications, status lines and the watchdog. Everything here is a no-op
// when the daemon runs on its own, and compiles out without libsystemd
// (HS_HAVE_SYSTEMD) or off Apple.
#pragma once

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace hs::daemon::service {

/// The listening socket handed to us (systemd LISTEN_FDS/LISTEN_PID, or
/// launchd's "Listeners"), or -1 when there is none. Errc::invalid_argument
/// when what was passed is not one listening Unix stream socket.
Result<int> activated_socket();

/// READY=1 with a STATUS= line (sd_notify).
void ready(const std::string& status);
/// STOPPING=1 with a STATUS= line.
void stopping(const std::string& status);
/// Half of WATCHDOG_USEC when the manager wants keep-alives, else 0.
std::chrono::microseconds watchdog_interval();
/// WATCHDOG=1.
void watchdog();

}  // namespace hs::daemon::service
