// The stat cache for drift: per path, the file's stat at the moment it was
// hashed and the digest. An entry is used when
// - the file watch vouches for the path: it was watched without a break
//   and no event touched it since the entry was made (watch_gen equal to
//   FileWatch::generation, never 0) — no system call at all; or
// - else, a stat(2) of the path equals the entry's and the entry is not
//   racy (below).
// Anything else is hashed again. Only the event loop touches the cache. An
// entry's st, digest and racy never change once it is made (hashing threads
// read st through a check's own pointer to it); watch_gen is written on the
// loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/file_stat.hpp"

namespace hs::daemon::hashing {

/// The racy rule (git's "racily clean" entries): a file whose mtime or
/// ctime is not older than the start of its hashing, give or take the file
/// system's timestamp granularity, may change again within the same
/// timestamp, so its stat cannot vouch for its content next time. The
/// margin covers coarse kernel clocks (a jiffy behind real time) and file
/// systems with 1 s or 2 s timestamps (ext3, FAT).
inline constexpr int64_t kRacyMarginNs = int64_t{2} * 1000000000;
inline bool racy(const FileStat& st, int64_t hash_started_ns) {
  return st.mtime_ns >= hash_started_ns - kRacyMarginNs || st.ctime_ns >= hash_started_ns - kRacyMarginNs;
}

class StatCache {
 public:
  struct Entry {
    FileStat st;
    std::string digest;
    uint64_t watch_gen = 0;  // FileWatch::generation when the probe started; 0: none
    bool racy = true;        // the stat alone cannot vouch for it
  };

  /// Shared, so that a check in flight keeps the entry it probed with
  /// (another check may replace it meanwhile) without copying it.
  using EntryPtr = std::shared_ptr<Entry>;

  /// Past this many paths the cache starts over: it holds tracked files
  /// only, so this is far above any real state, and bounds a hostile one.
  static constexpr size_t kMaxEntries = size_t{1} << 18;

  /// The entry of `path`, or null.
  const EntryPtr* find(const std::string& path) const {
    auto it = map_.find(path);
    return it == map_.end() ? nullptr : &it->second;
  }
  /// Replaces the entry of `path`; returns the new one.
  const EntryPtr& put(const std::string& path, Entry e) {
    if (map_.size() >= kMaxEntries && map_.find(path) == map_.end()) map_.clear();
    EntryPtr& slot = map_[path];
    slot = std::make_shared<Entry>(std::move(e));
    return slot;
  }
  /// `probed` (an entry of `path` a check held) was found current after
  /// generation `gen` began (its stat was checked since): record that, in
  /// it (a check that keeps it trusts it next time without a stat) and in
  /// the cache.
  void vouch(const std::string& path, const EntryPtr& probed, uint64_t gen) {
    probed->watch_gen = gen;
    auto it = map_.find(path);
    if (it == map_.end() || it->second != probed) put(path, Entry{probed->st, probed->digest, gen, probed->racy});
  }
  void erase(const std::string& path) { map_.erase(path); }
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, EntryPtr> map_;
};

}  // namespace hs::daemon::hashing
