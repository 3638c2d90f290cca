// The drift of one target against the disk: what state.drift answers
// without current_hashes, and what a subscription's state.drifted carries.
// One function, so the two can never disagree.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/rpc/context.hpp"
#include "daemon/store/drift.hpp"

namespace hs::daemon::hashing {

/// The paths an entry's file_hashes records, in stored order (what a
/// check hashes, and what a subscription watches).
std::vector<std::string> stored_paths(const boost::json::object& entry);

/// Compares `entry` (a copy of the target's entry as durable now; null for
/// an untracked target) with the files on disk, for `owner` (a connection:
/// see Hasher), cancelled by `cancel`. `done` runs on the loop with the
/// report, or nullopt when cancelled.
void check_drift(rpc::Context& ctx, std::optional<boost::json::object> entry, const void* owner, CancelToken cancel,
                 std::function<void(std::optional<store::DriftReport>)> done);

/// The same for state.drift, called in a Sequencer read: `entry` is the
/// target's entry in the store now (null: untracked), `store_generation`
/// the store's generation, `key` names the target (account and name).
/// The last answer for `key` is kept (a memo) with what it was made from.
/// At the same store generation it is given again, without copying the
/// entry:
/// - when it was made from watched files only and no file event came since
///   (after a sync to now): no work per file;
/// - else when every file's stat is still the one its digest was made from
///   (one stat per file on the hashing threads, none for a file the watch
///   vouches for).
/// Anything else (a change, a racy or unreadable file) is checked in full.
void check_drift_in_store(rpc::Context& ctx, const std::string& key, const boost::json::object* entry,
                          uint64_t store_generation, const void* owner, CancelToken cancel,
                          std::function<void(std::optional<store::DriftReport>)> done);

}  // namespace hs::daemon::hashing
