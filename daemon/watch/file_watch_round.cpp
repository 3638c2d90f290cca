// FileWatch: rounds of file system work on the worker (round_work.hpp),
// started and applied on the loop.
//
// What makes applying a result later than it was found safe:
// - a path resolved by the round gets a new generation only when the
//   result is applied, after its watches were added, and no stat cache entry
//   can have been made in a generation not given yet;
// - a path touched while the round ran (counter_ moved past the round's
//   start) keeps its new deps but stays untrusted, and is resolved again;
// - events read while the round ran were applied against the watches known
//   then; they are applied once more against the round's result, so an
//   event on a watch the round added (the loop did not know its handle
//   yet), or a watch the OS dropped right after the round added it, is
//   not lost;
// - watches are released only by a round, on the worker, so a release
//   never races an add of the same inode that returns the same handle.
#include <boost/asio/post.hpp>
#include <algorithm>
#include <cerrno>
#include <iterator>
#include <memory>

#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::watch {
namespace asio = boost::asio;

void FileWatch::start_round(bool poll) {
  if (stopped_) return;
  if (running_) {
    again_ = true;
    poll_again_ = poll_again_ || poll;
    return;
  }
  auto in = std::make_shared<RoundWork>();
  in->cwd = cwd_;
  in->max_watches = cfg_.max_watches;
  for (int h : release_) {
    if (!handle_dirs_.count(h)) in->release.push_back(h);
  }
  release_.clear();
  in->resolve.assign(pending_paths_.begin(), pending_paths_.end());
  pending_paths_.clear();
  if (poll) {
    // Directories that could not be watched: tried again (watches may have
    // been released); a success re-resolves their paths.
    for (const auto& [dir, ds] : dirs_) {
      const Arming& a = ds.arming;
      if (a.handle >= 0 || a.err == EREMOTE) continue;
      if (a.err == ENOSPC && cfg_.max_watches != 0 && handle_dirs_.size() >= cfg_.max_watches) continue;
      in->retry.push_back(dir);
    }
    for (const auto& [path, ps] : paths_) {
      if (ps.polled && !ps.stale) in->stat.push_back(path);
    }
  }
  Round r;
  r.started = counter_;
  r.keys.assign(pending_keys_.begin(), pending_keys_.end());
  pending_keys_.clear();
  r.ready = std::move(ready_next_);
  ready_next_.clear();
  r.poll = poll;
  if (in->release.empty() && in->resolve.empty() && in->retry.empty() && in->stat.empty()) {
    // Nothing for the worker. Dirty keys left (their paths were dropped)
    // go with the next flush.
    for (auto& w : r.ready) asio::post(io_, std::move(w));
    pending_keys_.insert(r.keys.begin(), r.keys.end());
    schedule_poll();
    return;
  }
  for (const auto& [h, dirs] : handle_dirs_) in->uses[h] = dirs.size();
  for (const auto& [dir, ds] : dirs_) in->dirs.emplace(dir, ds.arming);
  if (!worker_) worker_ = std::make_unique<Worker>(io_);
  running_ = std::move(r);
  auto out = std::make_shared<RoundResult>();
  worker_->post([backend = backend_.get(), in, out] { *out = run_round(backend, *in); },
                [this, in, out] {
                  Round done = std::move(*running_);
                  running_.reset();
                  apply(done, *in, *out);
                });
}

void FileWatch::touch_dir(const DirState& ds, const std::unordered_set<const std::string*>& except) {
  std::vector<std::string> hit;
  for (const auto& [entry, ps] : ds.entries) {
    for (const std::string* p : ps) {
      if (!except.count(p)) hit.push_back(*p);
    }
  }
  for (const auto& p : hit) touch(p);
}

void FileWatch::apply(Round& r, const RoundWork& in, RoundResult& out) {
  if (stopped_) return;
  std::unordered_set<const std::string*> resolved;
  for (const auto& path : in.resolve) {
    if (auto it = paths_.find(path); it != paths_.end()) resolved.insert(it->second.self);
  }
  // 1. The directories the round watched (or tried to). One replaced, or
  // watched again after it was not: the paths on it that the round did not
  // resolve are resolved again, and changes under it went unseen.
  for (const auto& [dir, d] : out.dirs) {
    auto [it, fresh] = dirs_.try_emplace(dir);
    DirState& ds = it->second;
    const bool was_watched = ds.arming.handle >= 0;
    set_arming(dir, ds, d.now);
    if (!fresh && (d.replaced || (!was_watched && d.now.handle >= 0))) touch_dir(ds, resolved);
  }
  // 2. The paths resolved: new watches first, then the old released, so a
  // directory in both is never unwatched in between (both lists sorted).
  for (size_t i = 0; i < in.resolve.size(); ++i) {
    auto it = paths_.find(in.resolve[i]);
    if (it == paths_.end()) continue;  // dropped meanwhile
    PathState& ps = it->second;
    std::vector<Dep>& deps = out.deps[i];
    std::vector<Dep> added, dropped;
    std::set_difference(deps.begin(), deps.end(), ps.deps.begin(), ps.deps.end(), std::back_inserter(added));
    std::set_difference(ps.deps.begin(), ps.deps.end(), deps.begin(), deps.end(), std::back_inserter(dropped));
    attach(ps.self, added);
    detach(ps.self, dropped);
    ps.deps = std::move(deps);
    ps.placed = true;
    if (ps.touched > r.started) continue;  // touched (or added) meanwhile: pending, resolved again
    bool polled = ps.deps.empty();
    bool unwatched = false;
    for (const auto& [dir, entry] : ps.deps) {
      const Arming& a = dirs_.at(dir).arming;
      if (a.handle >= 0) continue;
      polled = true;
      unwatched = unwatched || a.err == 0;
    }
    // A directory whose watch the OS dropped meanwhile, or that was
    // released meanwhile: the next round watches it.
    if (unwatched) {
      touch(in.resolve[i]);
      continue;
    }
    ps.stale = false;
    ps.polled = polled;
    ps.gen = ++counter_;
    // A path the round thought watched but is not: no snapshot, so the
    // next poll reports it once.
    ps.snap = polled ? out.snaps[i] : std::nullopt;
  }
  // 3. Directories watched for nobody (their paths were dropped meanwhile).
  for (const auto& [dir, d] : out.dirs) {
    auto it = dirs_.find(dir);
    if (it != dirs_.end() && it->second.entries.empty()) {
      disarm(it->second, dir);
      dirs_.erase(it);
    }
  }
  // 4. The poll's stats.
  if (r.poll) polled(in.stat, out.stats);
  // 5. Events read while the round ran, once more against what is known now.
  std::vector<Kept> kept = std::move(kept_);
  kept_.clear();
  const bool overflow = kept_overflow_;
  kept_overflow_ = false;
  if (overflow) {
    touch_all();
  } else {
    for (const Kept& k : kept) take(k.handle, k.what, k.name);
  }
  // 6. What came meanwhile goes now: new interests and due polls at once,
  // like changes a poll found (late enough already); events after their
  // debounce.
  const bool poll_now = poll_again_;
  const bool now = again_ || poll_now || !ready_next_.empty() || (r.poll && !pending_paths_.empty());
  again_ = poll_again_ = false;
  if (now) {
    start_round(poll_now);
  } else {
    if (!pending_paths_.empty()) schedule_flush();
    if (!release_.empty()) start_round(false);
  }
  schedule_poll();
  for (auto& w : r.ready) w();
  if (!r.keys.empty() && on_dirty_) on_dirty_(r.keys);
}

}  // namespace hs::daemon::watch
