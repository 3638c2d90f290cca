#include "daemon/drift_check.hpp"

#include <memory>

#include "daemon/methods/hashing.hpp"

namespace hs::daemon {
namespace json = boost::json;

std::vector<std::string> stored_paths(const json::object& entry) {
  std::vector<std::string> out;
  const json::value* h = entry.if_contains("file_hashes");
  if (h == nullptr || !h->is_object()) return out;
  out.reserve(h->get_object().size());
  for (const auto& kv : h->get_object()) out.emplace_back(kv.key());
  return out;
}

namespace {

struct Pending {
  std::shared_ptr<json::object> entry;
  std::vector<std::string> paths;       // never resized once probes point into it
  std::vector<store::DiskHash> now;     // one per path; points into held, known or outcomes
  std::vector<StatCache::EntryPtr> held;  // the cache entries vouched for by the watch
  std::vector<size_t> probed;           // indexes sent to the hasher
  std::vector<uint64_t> gens;           // their generation at probe time
  std::vector<StatCache::EntryPtr> known;  // the cache entry each was probed with, or null
  Hasher::Outcomes outcomes;            // the hasher's answer, kept for `now`
  std::function<void(std::optional<store::DriftReport>)> done;
  std::string memo_key;          // state.drift: where to keep the answer
  uint64_t store_generation = 0;

  // `now` is in stored order, which is `paths`' order.
  store::DriftReport report() const { return store::drift_on_disk(entry.get(), now); }
};

}  // namespace

// Exactly the answer of hashing every file, for less:
// 1. sync to now: every file event before this call has been read, so a
//    generation that did not move means no change before the request;
// 2. a path whose cache entry was made in its current generation needs no
//    system call (FileWatch::generation is 0 for anything not watched
//    without a break, and generations are never reused);
// 3. every other path goes to the hasher with the cached stat: a worker
//    stats it and re-hashes only when the stat differs or the entry is
//    racy; the new digests and stats go back into the cache.
namespace {

// Bounds the memos: one per target asked about, far fewer in practice.
constexpr size_t kMaxMemos = 256;

void check(Context& ctx, std::shared_ptr<Pending> p, const void* owner, CancelToken cancel) {
  p->paths = stored_paths(*p->entry);
  ctx.files.sync([&ctx, p, owner, cancel = std::move(cancel)]() mutable {
    const uint64_t epoch = ctx.files.epoch();
    StatCache& cache = ctx.files.cache();
    p->now.resize(p->paths.size());
    std::vector<Hasher::Probe> probes;
    for (size_t i = 0; i < p->paths.size(); ++i) {
      const std::string& path = p->paths[i];
      const uint64_t gen = ctx.files.generation(path);
      const StatCache::EntryPtr* e = cache.find(path);
      if (e != nullptr && gen != 0 && (*e)->watch_gen == gen) {
        p->held.push_back(*e);
        continue;
      }
      p->probed.push_back(i);
      p->gens.push_back(gen);
      std::optional<FileStat> known;
      if (e != nullptr && !(*e)->racy) {
        known = (*e)->st;
        p->known.push_back(*e);
      } else {
        p->known.emplace_back();
      }
      // Points into p->paths, which the job's callback keeps alive.
      probes.push_back(Hasher::Probe{std::string(), known, &path});
    }
    // `held` no longer grows: its digests can be pointed at now.
    for (size_t i = 0, h = 0, k = 0; i < p->paths.size(); ++i) {
      if (k < p->probed.size() && p->probed[k] == i) {
        ++k;
      } else {
        p->now[i].hex = &p->held[h++]->digest;
      }
    }
    if (probes.empty()) {
      // Every file was vouched for by the watch: so is the whole answer,
      // until the store or any watched file changes.
      auto report = std::make_shared<store::DriftReport>(p->report());
      if (!p->memo_key.empty()) {
        auto& memos = ctx.files.memos();
        if (memos.size() >= kMaxMemos && memos.find(p->memo_key) == memos.end()) memos.clear();
        memos[p->memo_key] = FileWatch::Memo{p->store_generation, epoch, p->entry, report};
      }
      return p->done(*report);
    }
    hash_checked_then(ctx, owner, std::move(cancel), std::move(probes),
                      [&ctx, p](std::optional<Hasher::Outcomes> outcomes) {
                        if (!outcomes) return p->done(std::nullopt);
                        StatCache& store = ctx.files.cache();
                        p->outcomes = std::move(*outcomes);
                        for (size_t k = 0; k < p->probed.size(); ++k) {
                          const size_t i = p->probed[k];
                          const std::string& path = p->paths[i];
                          const Hasher::Outcome& o = p->outcomes[k];
                          if (o.matched) {
                            // The entry it was probed with, not the cache's now: another
                            // check may have replaced it meanwhile. Its stat was checked
                            // after the probe's generation began, so it holds for that
                            // generation (nothing to note when the path is not watched).
                            const StatCache::EntryPtr& e = p->known[k];
                            p->now[i].hex = &e->digest;
                            if (p->gens[k] != 0) store.vouch(path, e, p->gens[k]);
                            continue;
                          }
                          if (o.digest && o.stat) {
                            store.put(path, StatCache::Entry{*o.stat, *o.digest, p->gens[k], o.racy});
                          } else {
                            store.erase(path);
                          }
                          if (o.digest) {
                            p->now[i].hex = &*o.digest;
                          } else {
                            p->now[i].error = &o.digest.error();
                          }
                        }
                        p->done(p->report());
                      });
  });
}

}  // namespace

void check_drift(Context& ctx, std::optional<json::object> entry, const void* owner, CancelToken cancel,
                 std::function<void(std::optional<store::DriftReport>)> done) {
  if (!entry) return done(store::drift_on_disk(nullptr));
  auto p = std::make_shared<Pending>();
  p->entry = std::make_shared<json::object>(std::move(*entry));
  p->done = std::move(done);
  check(ctx, std::move(p), owner, std::move(cancel));
}

void check_drift_in_store(Context& ctx, const std::string& key, const json::object* entry,
                          uint64_t store_generation, const void* owner, CancelToken cancel,
                          std::function<void(std::optional<store::DriftReport>)> done) {
  if (entry == nullptr) return done(store::drift_on_disk(nullptr));
  auto p = std::make_shared<Pending>();
  p->done = std::move(done);
  p->memo_key = key;
  p->store_generation = store_generation;
  auto& memos = ctx.files.memos();
  auto it = memos.find(key);
  if (it == memos.end() || it->second.store_generation != store_generation) {
    // Copied as durable now: the disk is checked off the store's order.
    p->entry = std::make_shared<json::object>(*entry);
    return check(ctx, std::move(p), owner, std::move(cancel));
  }
  // The entry is the one the memo was made from (same store generation).
  FileWatch::Memo memo = it->second;
  p->entry = std::const_pointer_cast<json::object>(memo.entry);
  ctx.files.sync([&ctx, p, memo, owner, cancel = std::move(cancel)]() mutable {
    if (ctx.files.epoch() == memo.epoch) {
      return p->done(*std::static_pointer_cast<const store::DriftReport>(memo.report));
    }
    check(ctx, std::move(p), owner, std::move(cancel));
  });
}

}  // namespace hs::daemon
