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
  ps.gen = ++counter_;  // whatever the cache holds for it is older
  ps.stale = true;
  pending_paths_.insert(path);
  pending_keys_.insert(ps.keys.begin(), ps.keys.end());
}

void FileWatch::touch_all() {
  for (auto& [path, ps] : paths_) {
    ps.gen = ++counter_;
    ps.stale = true;
    pending_paths_.insert(path);
    pending_keys_.insert(ps.keys.begin(), ps.keys.end());
  }
}

void FileWatch::on_events(const std::vector<Event>& events) {
  if (stopped_) return;
  std::vector<std::function<void()>> synced;
  for (const Event& e : events) {
    if ((e.what & Backend::kOverflow) != 0) {
      log::warn("file watch: the kernel's event queue overflowed; checking every watched file again");
      touch_all();
      continue;
    }
    if ((e.what & Backend::kCookie) != 0) {
      // Every event queued before the cookie has been handled above.
      for (auto& w : cookie_waiters_) synced.push_back(std::move(w));
      cookie_waiters_.clear();
      cookie_in_flight_ = false;
      continue;
    }
    auto h = handle_dirs_.find(e.handle);
    if (h == handle_dirs_.end()) continue;  // released meanwhile
    const std::vector<std::string> dirs = h->second;
    for (const auto& dir : dirs) {
      auto d = dirs_.find(dir);
      if (d == dirs_.end()) continue;
      DirState& ds = d->second;
      if ((e.what & Backend::kSelf) != 0) {
        for (const auto& [entry, ps] : ds.entries) {
          for (const std::string* p : ps) touch(*p);
        }
      } else if ((e.what & Backend::kEntry) != 0) {
        auto en = ds.entries.find(std::string(e.name));
        if (en != ds.entries.end()) {
          for (const std::string* p : en->second) touch(*p);
        }
      }
      if ((e.what & Backend::kGone) != 0) {
        ds.handle = -1;  // re-armed when its paths are resolved again
        ds.err = 0;
      }
    }
    if ((e.what & Backend::kGone) != 0) handle_dirs_.erase(e.handle);
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
  // Resolve first: the watches follow re-created directories and new link
  // targets before anyone reads the files again.
  // A directory found replaced while resolving touches the paths on it,
  // which are resolved again (a few rounds: a directory replaced again and
  // again waits for the next flush).
  Resolver resolver(cwd_);
  for (int round = 0; round < 4 && !pending_paths_.empty(); ++round) {
    std::unordered_set<std::string> todo;
    todo.swap(pending_paths_);
    for (const auto& path : todo) {
      auto it = paths_.find(path);
      if (it != paths_.end()) resolve(it->second, resolver);
    }
  }
  if (!pending_paths_.empty()) schedule_flush();
  std::vector<std::string> keys(pending_keys_.begin(), pending_keys_.end());
  pending_keys_.clear();
  schedule_poll();
  if (!keys.empty() && on_dirty_) on_dirty_(keys);
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
