// FileWatch: events and their debounce, and the sync to now (a cookie
// queued behind every event so far).
#include <boost/asio/post.hpp>

#include "common/log.hpp"
#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::watch {
namespace asio = boost::asio;
using Event = Backend::Event;

// ---- events ----

void FileWatch::touch(const std::string& path) {
  auto it = paths_.find(path);
  if (it == paths_.end()) return;
  PathState& ps = it->second;
  ps.gen = ps.touched = ++counter_;  // whatever the cache holds for it is older
  ps.stale = true;
  pending_paths_.insert(path);
  pending_keys_.insert(ps.keys.begin(), ps.keys.end());
}

void FileWatch::touch_all() {
  for (auto& [path, ps] : paths_) {
    ps.gen = ps.touched = ++counter_;
    ps.stale = true;
    pending_paths_.insert(path);
    pending_keys_.insert(ps.keys.begin(), ps.keys.end());
  }
}

void FileWatch::on_events(const std::vector<Event>& events) {
  if (stopped_) return;
  std::vector<std::function<void()>> synced;
  for (const Event& e : events) {
    if ((e.what & Backend::kCookie) != 0) {
      // Every event queued before the cookie has been handled above.
      for (auto& w : cookie_waiters_) synced.push_back(std::move(w));
      cookie_waiters_.clear();
      cookie_in_flight_ = false;
      continue;
    }
    if ((e.what & Backend::kOverflow) != 0) {
      log::warn("file watch: the kernel's event queue overflowed; checking every watched file again");
    }
    take(e.handle, e.what, e.name);
    if (running_ && !kept_overflow_) {
      // Applied again after the round (file_watch_round.cpp); past this
      // many, every path is touched then instead.
      constexpr size_t kMaxKept = 65536;
      if (kept_.size() >= kMaxKept || (e.what & Backend::kOverflow) != 0) {
        kept_overflow_ = true;
        kept_.clear();
      } else {
        kept_.push_back(Kept{e.handle, e.what, std::string(e.name)});
      }
    }
  }
  if (!pending_paths_.empty()) schedule_flush();
  if (!synced.empty()) {
    if (!next_waiters_.empty()) {
      cookie_waiters_ = std::move(next_waiters_);
      next_waiters_.clear();
      request_cookie();
    }
    for (auto& w : synced) asio::post(io_, std::move(w));
  }
}

void FileWatch::take(int handle, unsigned what, std::string_view name) {
  if ((what & Backend::kOverflow) != 0) {
    touch_all();
    return;
  }
  auto h = handle_dirs_.find(handle);
  if (h == handle_dirs_.end()) return;  // released meanwhile, or not known yet (kept)
  const std::vector<std::string> dirs = h->second;
  for (const auto& dir : dirs) {
    auto d = dirs_.find(dir);
    if (d == dirs_.end()) continue;
    DirState& ds = d->second;
    if ((what & Backend::kSelf) != 0) {
      touch_dir(ds, {});
    } else if ((what & Backend::kEntry) != 0) {
      auto en = ds.entries.find(std::string(name));
      if (en != ds.entries.end()) {
        const std::vector<const std::string*> hit(en->second.begin(), en->second.end());
        for (const std::string* p : hit) touch(*p);
      }
    }
    if ((what & Backend::kGone) != 0) {
      ds.arming.handle = -1;  // watched again when its paths are resolved again
      ds.arming.err = 0;
    }
  }
  if ((what & Backend::kGone) != 0) {
    handle_dirs_.erase(handle);
    release_.erase(handle);  // the OS released it
  }
}

void FileWatch::schedule_flush() {
  const auto now = std::chrono::steady_clock::now();
  if (!debounce_armed_) {
    debounce_armed_ = true;
    first_pending_ = now;
  }
  debounce_.expires_at(std::min(now + cfg_.quiet, first_pending_ + cfg_.max_delay));
  debounce_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;  // re-armed by a later event, or stopping
    flush();
  });
}

void FileWatch::flush() {
  debounce_armed_ = false;
  if (pending_paths_.empty()) {
    // Keys whose paths were dropped since they were touched.
    std::vector<std::string> keys(pending_keys_.begin(), pending_keys_.end());
    pending_keys_.clear();
    if (!keys.empty() && on_dirty_) on_dirty_(keys);
    return;
  }
  // Resolved first, on the worker: the watches follow re-created
  // directories and new link targets before anyone reads the files again;
  // the keys are reported once the round is applied. A directory found
  // replaced touches the paths on it, which the next round resolves again.
  start_round(false);
}

// ---- sync to now ----

void FileWatch::sync(std::function<void()> done) {
  // Nothing watched: nothing is trusted without a stat, so nothing to wait for.
  // A polling backend: generations are 0, every file is stat'ed.
  if (stopped_ || !backend_ || handle_dirs_.empty() || backend_->polling()) return done();
  if (cookie_in_flight_) {
    next_waiters_.push_back(std::move(done));
    return;
  }
  cookie_waiters_.push_back(std::move(done));
  request_cookie();
}

void FileWatch::request_cookie() {
  cookie_in_flight_ = true;
  auto st = backend_->request_cookie();
  if (st) return;
  // Without a cookie there is no "now" to wait for: trust nothing the
  // events said, and answer from stats.
  log::warn("file watch: " + st.error().message() + "; checking every watched file again");
  cookie_in_flight_ = false;
  touch_all();
  schedule_flush();
  for (auto& w : cookie_waiters_) asio::post(io_, std::move(w));
  cookie_waiters_.clear();
}

}  // namespace hs::daemon::watch
