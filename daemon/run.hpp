// harnesssyncd from options to exit status: open the store, listen, build
// the layers and wire them together (run.cpp), serve, and stop them in order.
#pragma once

#include "daemon/options.hpp"

namespace hs::daemon {

/// Runs the daemon in the foreground until it is stopped. Returns the exit
/// status (see exit_code); every start-up failure is one line on stderr.
int run(const Options& opts);

}  // namespace hs::daemon
