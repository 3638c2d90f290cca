// The drift of one target against the disk: what state.drift answers
// without current_hashes, and what a subscription's state.drifted carries.
// One checker, so the two can never disagree.
//
// It keeps what makes a check cheap: the stat cache (stat_cache.hpp), whose
// entries the file watch can vouch for, and per target the last answer (a
// memo) with what it was made from.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/cancel.hpp"
#include "daemon/hashing/jobs.hpp"
#include "daemon/hashing/stat_cache.hpp"
#include "daemon/store/drift.hpp"
#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::hashing {

/// The paths an entry's file_hashes records, in stored order (what a
/// check hashes, and what a subscription watches).
std::vector<std::string> stored_paths(const boost::json::object& entry);

class DriftChecker {
 public:
  /// Runs on the loop with the report, or nullopt when cancelled.
  using Done = std::function<void(std::optional<store::DriftReport>)>;

  /// Files are hashed through `jobs`; `files` says which paths are watched
  /// and unchanged since a generation.
  DriftChecker(watch::FileWatch& files, Jobs& jobs) : files_(files), jobs_(jobs) {}
  DriftChecker(const DriftChecker&) = delete;
  DriftChecker& operator=(const DriftChecker&) = delete;

  /// Compares `entry` (a copy of the target's entry as durable now; null for
  /// an untracked target) with the files on disk, for `owner` (a connection:
  /// see Hasher), cancelled by `cancel`.
  void check(std::optional<boost::json::object> entry, const void* owner, CancelToken cancel, Done done);

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
  void check_in_store(const std::string& key, const boost::json::object* entry, uint64_t store_generation,
                      const void* owner, CancelToken cancel, Done done);

  /// Forgets every memo (the watch stopped: shutdown).
  void stop() { memos_.clear(); }

  /// The stat cache (tests).
  StatCache& cache() { return cache_; }

 private:
  struct Basis;
  struct Answer;
  struct Pending;
  /// The last answer for a target, about the store at `store_generation`;
  /// when `watched_only`, it holds as long as the watch's epoch stays
  /// `epoch`.
  struct Memo {
    uint64_t store_generation = 0;
    uint64_t epoch = 0;
    bool watched_only = false;
    std::shared_ptr<const Answer> answer;
  };

  void run(std::shared_ptr<Pending> p, const void* owner, CancelToken cancel);
  void recheck(std::shared_ptr<Pending> p, std::shared_ptr<const Answer> answer, const void* owner,
               CancelToken cancel);
  void finish(const std::shared_ptr<Pending>& p, uint64_t epoch, bool watched_only);

  watch::FileWatch& files_;
  Jobs& jobs_;
  StatCache cache_;
  std::unordered_map<std::string, Memo> memos_;
};

}  // namespace hs::daemon::hashing
