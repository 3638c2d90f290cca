#include "daemon/hashing/drift_checker.hpp"

#include <memory>

namespace hs::daemon::hashing {
namespace json = boost::json;
namespace {

// Bounds the memos: one per target asked about, far fewer in practice.
constexpr size_t kMaxMemos = 256;

}  // namespace

std::vector<std::string> stored_paths(const json::object& entry) {
  std::vector<std::string> out;
  const json::value* h = entry.if_contains("file_hashes");
  if (h == nullptr || !h->is_object()) return out;
  out.reserve(h->get_object().size());
  for (const auto& kv : h->get_object()) out.emplace_back(kv.key());
  return out;
}

// What an answer was made from: the entry, its paths, and per path the stat
// cache entry whose digest it used. The memo of a target keeps it, so that
// the next check of the unchanged target asks only whether each file's
// stat is still that entry's: with nothing watched, no lookup, copy or
// allocation per file on the loop.
struct DriftChecker::Basis {
  std::shared_ptr<const json::object> entry;
  std::vector<std::string> paths;
  std::vector<StatCache::EntryPtr> used;  // null: no digest (an error, or not cacheable)
  // {&paths[i], &used[i]->st} for every path. The whole list is null when
  // any path has no entry or a racy one: such a path must be hashed, so
  // stats alone cannot give the answer.
  std::shared_ptr<const Hasher::StatProbes> probes;
};

struct DriftChecker::Answer {
  std::shared_ptr<const Basis> basis;
  store::DriftReport report;
};

struct DriftChecker::Pending {
  std::shared_ptr<const json::object> entry;
  std::vector<std::string> paths;       // never resized once probes point into it
  std::vector<StatCache::EntryPtr> used;  // per path, as in Basis
  std::vector<size_t> probed;           // indexes sent to the hasher
  std::vector<uint64_t> gens;           // their generation at probe time
  Hasher::Outcomes outcomes;            // the hasher's answer: digests of uncached paths, errors
  Done done;
  std::string memo_key;  // state.drift: where to keep the answer
  uint64_t store_generation = 0;
};

// Answers `p` from `used` and the outcomes, and keeps the answer as the
// memo of `p->memo_key`: watched_only when no file needed a system call.
void DriftChecker::finish(const std::shared_ptr<Pending>& p, uint64_t epoch, bool watched_only) {
  const size_t n = p->paths.size();
  std::vector<store::DiskHash> now(n);
  for (size_t i = 0; i < n; ++i) {
    if (p->used[i]) now[i].hex = &p->used[i]->digest;
  }
  for (size_t k = 0; k < p->probed.size(); ++k) {
    const size_t i = p->probed[k];
    if (p->used[i]) continue;
    const Hasher::Outcome& o = p->outcomes[k];
    if (o.digest) {
      now[i].hex = &*o.digest;
    } else {
      now[i].error = &o.digest.error();
    }
  }
  // `now` is in stored order, which is `paths`' order.
  store::DriftReport report = store::drift_on_disk(p->entry.get(), now);
  if (p->memo_key.empty()) return p->done(std::move(report));

  auto basis = std::make_shared<Basis>();
  basis->entry = p->entry;
  basis->paths = std::move(p->paths);
  basis->used = std::move(p->used);
  bool stat_only = true;
  for (const auto& e : basis->used) stat_only = stat_only && e && !e->racy;
  if (stat_only) {
    auto probes = std::make_shared<Hasher::StatProbes>();
    probes->reserve(n);
    for (size_t i = 0; i < n; ++i) probes->push_back(Hasher::StatProbe{&basis->paths[i], &basis->used[i]->st});
    basis->probes = std::move(probes);
  }
  auto answer = std::make_shared<Answer>(Answer{std::move(basis), std::move(report)});
  auto it = memos_.find(p->memo_key);
  // A slow check of an older store must not replace the memo of a newer one.
  if (it == memos_.end() || it->second.store_generation <= p->store_generation) {
    if (it == memos_.end() && memos_.size() >= kMaxMemos) memos_.clear();
    memos_[p->memo_key] = Memo{p->store_generation, epoch, watched_only, answer};
  }
  p->done(answer->report);
}

// Exactly the answer of hashing every file, for less:
// 1. sync to now: every file event before this call has been read, so a
//    generation that did not move means no change before the request;
// 2. a path whose cache entry was made in its current generation needs no
//    system call (FileWatch::generation is 0 for anything not watched
//    without a break, and generations are never reused);
// 3. every other path goes to the hasher with the cached stat: a worker
//    stats it and re-hashes only when the stat differs or the entry is
//    racy; the new digests and stats go back into the cache.
void DriftChecker::run(std::shared_ptr<Pending> p, const void* owner, CancelToken cancel) {
  p->paths = stored_paths(*p->entry);
  files_.sync([this, p, owner, cancel = std::move(cancel)]() mutable {
    const uint64_t epoch = files_.epoch();
    const bool watching = files_.watches_any();
    p->used.assign(p->paths.size(), nullptr);
    p->probed.clear();
    p->gens.clear();
    std::vector<Hasher::Probe> probes;
    for (size_t i = 0; i < p->paths.size(); ++i) {
      const std::string& path = p->paths[i];
      const uint64_t gen = watching ? files_.generation(path) : 0;
      const StatCache::EntryPtr* e = cache_.find(path);
      if (e != nullptr && gen != 0 && (*e)->watch_gen == gen) {
        p->used[i] = *e;
        continue;
      }
      p->probed.push_back(i);
      p->gens.push_back(gen);
      std::optional<FileStat> known;
      if (e != nullptr && !(*e)->racy) {
        // Kept only if the stat matches: the entry it was probed with, not
        // the cache's then, since another check may replace it meanwhile.
        known = (*e)->st;
        p->used[i] = *e;
      }
      // Points into p->paths, which the job's callback keeps alive.
      probes.push_back(Hasher::Probe{std::string(), known, &path});
    }
    if (probes.empty()) {
      // Every file was vouched for by the watch: so is the whole answer,
      // until the store or any watched file changes.
      return finish(p, epoch, true);
    }
    jobs_.hash_checked_then(owner, std::move(cancel), std::move(probes),
                            [this, p, epoch](std::optional<Hasher::Outcomes> outcomes) {
                              if (!outcomes) return p->done(std::nullopt);
                              p->outcomes = std::move(*outcomes);
                              for (size_t k = 0; k < p->probed.size(); ++k) {
                                const size_t i = p->probed[k];
                                const std::string& path = p->paths[i];
                                const Hasher::Outcome& o = p->outcomes[k];
                                if (o.matched) {
                                  // Its stat was checked after the probe's generation began, so
                                  // the entry holds for that generation (nothing to note when the
                                  // path is not watched).
                                  if (p->gens[k] != 0) cache_.vouch(path, p->used[i], p->gens[k]);
                                  continue;
                                }
                                p->used[i] = nullptr;
                                if (o.digest && o.stat) {
                                  p->used[i] =
                                      cache_.put(path, StatCache::Entry{*o.stat, *o.digest, p->gens[k], o.racy});
                                } else {
                                  cache_.erase(path);
                                }
                              }
                              finish(p, epoch, false);
                            });
  });
}

// The memo of `key` at the store's generation: its answer holds when every
// file's stat is still the one its digest was made from. Asks only that (a
// stat per file, none for a file the watch vouches for); anything else, or
// any change, goes the whole way (run).
void DriftChecker::recheck(std::shared_ptr<Pending> p, std::shared_ptr<const Answer> answer, const void* owner,
                           CancelToken cancel) {
  const Basis& b = *answer->basis;
  const uint64_t epoch = files_.epoch();
  if (!b.probes) return run(std::move(p), owner, std::move(cancel));
  std::shared_ptr<const Hasher::StatProbes> probes = b.probes;
  // Watched paths the stats will vouch for: (index, generation).
  auto vouch = std::make_shared<std::vector<std::pair<size_t, uint64_t>>>();
  if (files_.watches_any()) {
    auto own = std::make_shared<Hasher::StatProbes>();
    for (size_t i = 0; i < b.paths.size(); ++i) {
      const uint64_t gen = files_.generation(b.paths[i]);
      if (gen != 0 && b.used[i]->watch_gen == gen) continue;
      if (gen != 0) vouch->emplace_back(i, gen);
      own->push_back((*b.probes)[i]);
    }
    probes = std::move(own);
  }
  if (probes->empty()) {
    // Nothing to stat (every file vouched for by the watch, or no file at
    // all): the answer holds until the store or the watch's epoch moves.
    auto it = memos_.find(p->memo_key);
    if (it != memos_.end() && it->second.answer == answer) {
      it->second.watched_only = true;
      it->second.epoch = epoch;
    }
    return p->done(answer->report);
  }
  jobs_.stats_checked_then(owner, cancel, probes,
                           [this, p, answer, vouch, owner, cancel](std::optional<bool> same) mutable {
                             if (!same) return p->done(std::nullopt);
                             if (!*same) return run(std::move(p), owner, std::move(cancel));
                             const Basis& basis = *answer->basis;
                             for (const auto& [i, gen] : *vouch) cache_.vouch(basis.paths[i], basis.used[i], gen);
                             p->done(answer->report);
                           });
}

void DriftChecker::check(std::optional<json::object> entry, const void* owner, CancelToken cancel, Done done) {
  if (!entry) return done(store::drift_on_disk(nullptr));
  auto p = std::make_shared<Pending>();
  p->entry = std::make_shared<json::object>(std::move(*entry));
  p->done = std::move(done);
  run(std::move(p), owner, std::move(cancel));
}

void DriftChecker::check_in_store(const std::string& key, const json::object* entry, uint64_t store_generation,
                                  const void* owner, CancelToken cancel, Done done) {
  if (entry == nullptr) return done(store::drift_on_disk(nullptr));
  auto p = std::make_shared<Pending>();
  p->done = std::move(done);
  p->memo_key = key;
  p->store_generation = store_generation;
  auto it = memos_.find(key);
  if (it == memos_.end() || it->second.store_generation != store_generation) {
    // Copied as durable now: the disk is checked off the store's order.
    p->entry = std::make_shared<json::object>(*entry);
    return run(std::move(p), owner, std::move(cancel));
  }
  // The entry is the one the memo was made from (same store generation).
  Memo memo = it->second;
  std::shared_ptr<const Answer> answer = memo.answer;
  p->entry = answer->basis->entry;
  files_.sync([this, p, memo, answer, owner, cancel = std::move(cancel)]() mutable {
    if (memo.watched_only && files_.epoch() == memo.epoch) return p->done(answer->report);
    recheck(std::move(p), std::move(answer), owner, std::move(cancel));
  });
}

}  // namespace hs::daemon::hashing
