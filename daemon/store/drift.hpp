// Drift (docs/STATE.md, "Drift"): how the files of a target differ from the hashes
// recorded at its last sync. Pure over a copy of the entry, so a caller may
// run the disk variant away from the thread that owns the store.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace hs::daemon::store {

struct DriftReport {
  bool tracked = false;                 // the target has an entry
  std::vector<std::string> drifted;     // changed + added (their order), then removed
  std::vector<std::string> changed;
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::pair<std::string, std::string>> errors;  // {path, reason}: unreadable files

  /// {"target", "tracked", "drifted", "changed", "added", "removed", "errors"}
  boost::json::object to_json(std::string_view target) const;
};

/// Compares the caller's {path: hash} with the entry's file_hashes. `entry`
/// is null for an untracked target, whose every current path is "added".
/// Errc::invalid_argument when a path or hash in `current` is malformed.
Result<DriftReport> drift_from_hashes(const boost::json::object* entry,
                                      const boost::json::object& current);

/// Hashes every stored path on disk and compares. A missing file is
/// "removed" (unless its stored hash is "", the mark for a file that did not
/// exist, and it still does not); one that cannot be read goes to `errors`.
/// `hash_of(path)` gives a file's digest, or the error of sha256_file
/// (default: sha256_file itself; the daemon passes digests it computed).
using HashOf = std::function<Result<std::string>(const std::string& path)>;
DriftReport drift_on_disk(const boost::json::object* entry, const HashOf& hash_of = {});

/// The same with the digests already known, one per stored path in the
/// entry's order (`now.size()` must be the number of stored paths): either
/// `hex` (a digest) or `error` (the error of sha256_file) is set. Nothing
/// is copied but the paths that go into the report.
struct DiskHash {
  const std::string* hex = nullptr;
  const Error* error = nullptr;
};
DriftReport drift_on_disk(const boost::json::object* entry, const std::vector<DiskHash>& now);

}  // namespace hs::daemon::store
