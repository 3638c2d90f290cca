// A state store in a fresh temp dir, with a clock the test controls.
#pragma once

#include <boost/json.hpp>
#include <memory>

#include "daemon/store/state_store.hpp"
#include "tests/support/test_support.hpp"

namespace hs::test {

struct StoreFixture {
  TempDir dir;
  Clock::time_point now = Clock::time_point(std::chrono::seconds(1795514400));
  std::vector<std::string> warnings;

  daemon::store::StoreOptions options() {
    daemon::store::StoreOptions o;
    o.dir = dir.path();
    o.now = [this] { return now; };
    o.cc2all_dir = dir / "cc2all";
    return o;
  }
  /// Opens the store; fails the test if it cannot.
  std::unique_ptr<daemon::store::StateStore> open();
  std::string state_path() const { return dir / "state.json"; }
  boost::json::value disk() const;  // state.json parsed
};

/// RecordArgs for `target` with the given hashes and counts.
daemon::store::RecordArgs record_args(std::string target, boost::json::object hashes, int64_t synced = 1,
                              int64_t skipped = 0, int64_t failed = 0,
                              std::optional<std::string> account = std::nullopt);

}  // namespace hs::test
