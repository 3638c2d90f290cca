// A daemon Context for unit tests, with everything it points at: a store
// in a temp dir, one io_context (run by the test), one hashing thread, the
// file watch and the lock table. Tests derive their rig from it, so these
// are built first and destroyed last.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "daemon/rpc/context.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/options.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/watch/file_watch.hpp"
#include "tests/support/store_fixture.hpp"

namespace hs::test {

struct ContextRig {
  StoreFixture fx;
  std::unique_ptr<hs::daemon::store::StateStore> store = fx.open();
  boost::asio::io_context io{1};
  hs::daemon::Options opts;
  hs::daemon::sequencer::Sequencer seq{io, *store};
  hs::daemon::hashing::Hasher hasher{1};
  hs::daemon::watch::FileWatch files{io};
  hs::daemon::locks::LockTable locks{io};
  hs::daemon::rpc::Context ctx{io, seq, hasher, files, locks, opts, "state", "sock", "now",
                          std::chrono::steady_clock::now(), [] {}, false, 0, {}};
};

}  // namespace hs::test
