#include "daemon/drift_check.hpp"

#include <memory>
#include <unordered_map>

#include "daemon/methods/hashing.hpp"

namespace hs::daemon {
namespace json = boost::json;

namespace {

// The paths an entry records, in stored order.
std::vector<std::string> stored_paths(const json::object& entry) {
  std::vector<std::string> out;
  const json::value* h = entry.if_contains("file_hashes");
  if (h == nullptr || !h->is_object()) return out;
  out.reserve(h->get_object().size());
  for (const auto& kv : h->get_object()) out.emplace_back(kv.key());
  return out;
}

struct Pending {
  json::object entry;
  std::vector<std::string> paths;
  std::vector<std::optional<Result<std::string>>> digests;  // one per path; set when known
  std::vector<size_t> probed;                               // indexes sent to the hasher
  std::vector<uint64_t> gens;                               // their generation at probe time
  std::vector<std::optional<StatCache::Entry>> known;       // the cache entry each was probed with
  std::function<void(std::optional<store::DriftReport>)> done;

  store::DriftReport report() {
    std::unordered_map<std::string_view, const Result<std::string>*> by_path;
    for (size_t i = 0; i < paths.size(); ++i) by_path.emplace(paths[i], &*digests[i]);
    return store::drift_on_disk(&entry, [&](const std::string& path) { return *by_path.at(path); });
  }
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
void check_drift(Context& ctx, std::optional<json::object> entry, const void* owner, CancelToken cancel,
                 std::function<void(std::optional<store::DriftReport>)> done) {
  if (!entry) return done(store::drift_on_disk(nullptr));
  auto p = std::make_shared<Pending>();
  p->paths = stored_paths(*entry);
  p->entry = std::move(*entry);
  p->done = std::move(done);
  ctx.files.sync([&ctx, p, owner, cancel = std::move(cancel)]() mutable {
    StatCache& cache = ctx.files.cache();
    p->digests.resize(p->paths.size());
    std::vector<Hasher::Probe> probes;
    for (size_t i = 0; i < p->paths.size(); ++i) {
      const std::string& path = p->paths[i];
      const uint64_t gen = ctx.files.generation(path);
      const StatCache::Entry* e = cache.find(path);
      if (e != nullptr && gen != 0 && e->watch_gen == gen) {
        p->digests[i] = e->digest;
        continue;
      }
      p->probed.push_back(i);
      p->gens.push_back(gen);
      std::optional<FileStat> known;
      if (e != nullptr && !e->racy) {
        known = e->st;
        p->known.emplace_back(*e);
      } else {
        p->known.emplace_back();
      }
      probes.push_back(Hasher::Probe{path, known});
    }
    if (probes.empty()) return p->done(p->report());
    hash_checked_then(ctx, owner, std::move(cancel), std::move(probes),
                      [&ctx, p](std::optional<Hasher::Outcomes> outcomes) {
                        if (!outcomes) return p->done(std::nullopt);
                        StatCache& store = ctx.files.cache();
                        for (size_t k = 0; k < p->probed.size(); ++k) {
                          const size_t i = p->probed[k];
                          const std::string& path = p->paths[i];
                          Hasher::Outcome& o = (*outcomes)[k];
                          if (o.matched) {
                            // The entry it was probed with, not the cache's now: another
                            // check may have replaced it meanwhile. Its stat was checked
                            // after the probe's generation began, so it holds for that
                            // generation.
                            StatCache::Entry e = std::move(*p->known[k]);
                            e.watch_gen = p->gens[k];
                            p->digests[i] = e.digest;
                            store.put(path, std::move(e));
                            continue;
                          }
                          if (o.digest && o.stat) {
                            store.put(path, StatCache::Entry{*o.stat, *o.digest, p->gens[k], o.racy});
                          } else {
                            store.erase(path);
                          }
                          p->digests[i] = std::move(o.digest);
                        }
                        p->done(p->report());
                      });
  });
}

}  // namespace hs::daemon
