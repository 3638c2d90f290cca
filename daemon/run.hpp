// harnesssyncd from options to exit status: open the store, listen, serve.
#pragma once

#include "daemon/options.hpp"

namespace hs::daemon {

/// Runs the daemon in the foreground until it is stopped. Returns the exit
/// status (see exit_code); every start-up failure is one line on stderr.
int run(const Options& opts);

}  // namespace hs::daemon
