// A real harnesssyncd in a temp dir, started on demand through the client
// library itself (autostart) and stopped when the test ends. For tests
// built with HS_DAEMON defined (the daemon binary's path).
#pragma once

#include <unistd.h>

#include <chrono>
#include <utility>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

namespace hs::test {

struct LiveDaemon {
  TempDir dir;
  harnesssync::ClientOptions opts;
  LiveDaemon() {
    opts.state_dir = dir / "state";
    opts.socket_path = dir / "hs.sock";
    opts.daemon_path = HS_DAEMON;
    opts.timeout = std::chrono::milliseconds(10000);
  }
  ~LiveDaemon() {
    harnesssync::ClientOptions o = opts;
    o.autostart = false;
    if (auto c = harnesssync::Client::connect(o)) (void)c->shutdown();
    // The socket goes when the daemon has finished stopping.
    for (int i = 0; i < 400 && exists(opts.socket_path); ++i) usleep(5000);
  }
  /// A new connection (the first one starts the daemon).
  harnesssync::Client connect() {
    auto c = harnesssync::Client::connect(opts);
    REQUIRE(c);
    return std::move(*c);
  }
};

}  // namespace hs::test
