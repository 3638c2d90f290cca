// A state store in a fresh temp dir, with a clock the test controls.
#pragma once

#include <boost/json.hpp>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

/// Two well-formed digests.
inline const std::string kHashA(64, 'a');
inline const std::string kHashB(64, 'b');
using Paths = std::vector<std::string>;

/// {path: hash} from pairs.
inline boost::json::object hashes(std::initializer_list<std::pair<std::string, std::string>> kv) {
  boost::json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

/// A JSON array of strings, as strings.
inline std::vector<std::string> strings(const boost::json::value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) out.emplace_back(e.as_string());
  return out;
}

/// RecordArgs for `target` with the given hashes and counts.
daemon::store::RecordArgs record_args(std::string target, boost::json::object hashes, int64_t synced = 1,
                              int64_t skipped = 0, int64_t failed = 0,
                              std::optional<std::string> account = std::nullopt);

}  // namespace hs::test
