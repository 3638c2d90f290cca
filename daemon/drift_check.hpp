// The drift of one target against the disk: what state.drift answers
// without current_hashes, and what a subscription's state.drifted carries.
// One function, so the two can never disagree.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/context.hpp"
#include "daemon/store/drift.hpp"

namespace hs::daemon {

/// The paths an entry's file_hashes records, in stored order (what a
/// check hashes, and what a subscription watches).
std::vector<std::string> stored_paths(const boost::json::object& entry);

/// Compares `entry` (a copy of the target's entry as durable now; null for
/// an untracked target) with the files on disk, for `owner` (a connection:
/// see Hasher), cancelled by `cancel`. `done` runs on the loop with the
/// report, or nullopt when cancelled.
void check_drift(Context& ctx, std::optional<boost::json::object> entry, const void* owner, CancelToken cancel,
                 std::function<void(std::optional<store::DriftReport>)> done);

/// The same for state.drift, called in a Sequencer read: `entry` is the
/// target's entry in the store now (null: untracked), `store_generation`
/// the store's generation, `key` names the target (account and name).
/// When the last answer for `key` was made from watched files only, at
/// this store generation, and no file event came since (after a sync to
/// now), that answer is given again without copying the entry or touching
/// a file: an unchanged watched target costs no work per file.
void check_drift_in_store(Context& ctx, const std::string& key, const boost::json::object* entry,
                          uint64_t store_generation, const void* owner, CancelToken cancel,
                          std::function<void(std::optional<store::DriftReport>)> done);

}  // namespace hs::daemon
