// An rpc::Context for unit tests, with everything it points at: a store
// in a temp dir, one io_context (run by the test), one hashing thread, the
// file watch, the drift checker and the lock table. Tests derive their rig
// from it, so these are built first and destroyed last.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "daemon/hashing/drift_checker.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/hashing/jobs.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/net/limits.hpp"
#include "daemon/net/session.hpp"
#include "daemon/rpc/context.hpp"
#include "daemon/rpc/dispatcher.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/watch/file_watch.hpp"
#include "tests/support/store_fixture.hpp"

namespace hs::test {

struct ContextRig {
  StoreFixture fx;
  std::unique_ptr<hs::daemon::store::StateStore> store = fx.open();
  boost::asio::io_context io{1};
  hs::daemon::net::Limits limits;
  hs::daemon::sequencer::Sequencer seq{io, *store};
  hs::daemon::hashing::Hasher hasher{1};
  hs::daemon::hashing::Jobs jobs{io, hasher};
  hs::daemon::watch::FileWatch files{io};
  hs::daemon::hashing::DriftChecker drift{files, jobs};
  hs::daemon::locks::LockTable locks{io};
  hs::daemon::rpc::Context ctx{io,    seq,    jobs,  drift, files, locks, limits, "state", "sock",
                               "now", std::chrono::steady_clock::now(), [] {}, false, nullptr};

  /// What the daemon gives each session: its messages go to the dispatcher.
  hs::daemon::net::Session::OnFrame on_frame() {
    return [this](const std::shared_ptr<hs::daemon::net::Session>& session, hs::proto::Framing framing,
                  boost::json::value msg, std::shared_ptr<void> ticket) {
      hs::daemon::rpc::dispatch(ctx, session, framing, std::move(msg), std::move(ticket));
    };
  }
};

}  // namespace hs::test
