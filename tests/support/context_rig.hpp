// A daemon Context for unit tests, with everything it points at: a store
// in a temp dir, one io_context (run by the test), one hashing thread, the
// file watch and the lock table. Tests derive their rig from it, so these
// are built first and destroyed last.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "daemon/context.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/options.hpp"
#include "daemon/sequencer.hpp"
#include "daemon/watch/file_watch.hpp"
#include "tests/support/store_fixture.hpp"

namespace hs::test {

struct ContextRig {
  StoreFixture fx;
  std::unique_ptr<hs::store::StateStore> store = fx.open();
  boost::asio::io_context io{1};
  hs::daemon::Options opts;
  hs::daemon::Sequencer seq{io, *store};
  hs::daemon::Hasher hasher{1};
  hs::daemon::FileWatch files{io};
  hs::daemon::LockTable locks{io};
  hs::daemon::Context ctx{io, seq, hasher, files, locks, opts, "state", "sock", "now",
                          std::chrono::steady_clock::now(), [] {}, false, 0, {}};
};

}  // namespace hs::test
