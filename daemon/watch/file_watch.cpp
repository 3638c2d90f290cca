#include "daemon/watch/file_watch.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

#include "common/log.hpp"

namespace hs::daemon::watch {
namespace asio = boost::asio;
using Event = Backend::Event;

FileWatch::FileWatch(asio::io_context& io, Config cfg)
    : io_(io), cfg_(cfg), debounce_(io), poll_timer_(io) {
  std::array<char, PATH_MAX> buf{};
  if (::getcwd(buf.data(), buf.size()) != nullptr) cwd_ = buf.data();
  if (cwd_.empty()) cwd_ = "/";
}

FileWatch::~FileWatch() { stop(); }

void FileWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  ++counter_;
  debounce_.cancel();
  poll_timer_.cancel();
  // The round in progress ends first (it may use the backend); its result
  // is dropped. On a hung mount this waits for the hung call.
  if (worker_) worker_->stop();
  if (backend_) backend_->stop();
  // A sync waiting for a cookie that will never come, a set_interest
  // waiting for a round that will not be applied: answered now, from what
  // is known (generations are 0 from here on, so nothing is trusted).
  if (running_) {
    for (auto& w : running_->ready) asio::post(io_, std::move(w));
    running_.reset();
  }
  for (auto& w : ready_next_) asio::post(io_, std::move(w));
  ready_next_.clear();
  for (auto& w : cookie_waiters_) asio::post(io_, std::move(w));
  for (auto& w : next_waiters_) asio::post(io_, std::move(w));
  cookie_waiters_.clear();
  next_waiters_.clear();
}

void FileWatch::ensure_backend() {
  if (backend_ || backend_failed_ || stopped_) return;
  auto b = watch::make_backend(io_, [this](const std::vector<Event>& evs) { on_events(evs); });
  if (!b) {
    backend_failed_ = true;
    log::warn("file watch: " + b.error().message() + "; tracked files are polled by stat every " +
              std::to_string(cfg_.poll_every.count()) + " ms instead");
    return;
  }
  backend_ = std::move(*b);
}

// ---- interests ----

void FileWatch::set_interest(const std::string& key, std::vector<std::string> paths, std::function<void()> ready) {
  if (stopped_) {
    if (ready) asio::post(io_, std::move(ready));
    return;
  }
  std::set<std::string> want;
  for (auto& p : paths) {
    if (p.empty()) continue;
    want.insert(p);
  }
  std::set<std::string>& have = interests_[key];
  // Added first, so that a directory both sets need keeps its watch.
  const size_t before = paths_.size();
  for (const auto& p : want) {
    if (!have.count(p)) add_path(p, key);
  }
  // New paths, or paths another interest added that no round resolved yet.
  bool fresh = paths_.size() != before;
  for (const auto& p : want) {
    auto it = paths_.find(p);
    fresh = fresh || (it != paths_.end() && !it->second.placed);
  }
  for (const auto& p : have) {
    if (!want.count(p)) remove_path(p, key);
  }
  if (want.empty()) {
    interests_.erase(key);
  } else {
    have = std::move(want);
  }
  if (fresh) {
    // Resolved and watched by the next round, at once (after the one
    // running): the caller waits.
    if (ready) ready_next_.push_back(std::move(ready));
    start_round(false);
    return;
  }
  // Nothing new to watch (the paths' watches are in place for another
  // interest, or being resolved again after an event, untrusted until
  // then): ready now. Watches released above go with the next round.
  if (ready) asio::post(io_, std::move(ready));
  if (!release_.empty()) start_round(false);
}

void FileWatch::drop_interest(const std::string& key) {
  auto it = interests_.find(key);
  if (it == interests_.end()) return;
  for (const auto& p : it->second) remove_path(p, key);
  interests_.erase(it);
  if (!release_.empty()) start_round(false);
}

void FileWatch::add_path(const std::string& path, const std::string& key) {
  auto [it, fresh] = paths_.try_emplace(path);
  it->second.keys.insert(key);
  if (!fresh) return;
  PathState& ps = it->second;
  ps.self = &it->first;
  // Untrusted, and to resolve; a round already running did not resolve it.
  ps.gen = ps.touched = ++counter_;
  ps.stale = true;
  pending_paths_.insert(path);
  ensure_backend();
}

void FileWatch::remove_path(const std::string& path, const std::string& key) {
  auto it = paths_.find(path);
  if (it == paths_.end()) return;
  it->second.keys.erase(key);
  if (!it->second.keys.empty()) return;
  ++counter_;  // no longer watched: nothing made while it was holds now
  detach(it->second.self, it->second.deps);
  pending_paths_.erase(path);
  paths_.erase(it);
}

// ---- the entries paths hang on, and their directories' watches ----

void FileWatch::attach(const std::string* path, const std::vector<Dep>& deps) {
  // A directory new here was watched by the round (its arming is set
  // before the paths are attached); one that is not is to be watched.
  for (const auto& [dir, entry] : deps) dirs_[dir].entries[entry].insert(path);
}

void FileWatch::detach(const std::string* path, const std::vector<Dep>& deps) {
  for (const auto& [dir, entry] : deps) {
    auto it = dirs_.find(dir);
    if (it == dirs_.end()) continue;
    auto e = it->second.entries.find(entry);
    if (e != it->second.entries.end()) {
      e->second.erase(path);
      if (e->second.empty()) it->second.entries.erase(e);
    }
    if (it->second.entries.empty()) {
      disarm(it->second, dir);
      dirs_.erase(it);
    }
  }
}

void FileWatch::set_arming(const std::string& dir, DirState& ds, const Arming& now) {
  if (now.handle >= 0 && now.handle != ds.arming.handle) {
    handle_dirs_[now.handle].push_back(dir);
    release_.erase(now.handle);  // the same inode watched again: its watch is in use
  }
  if (ds.arming.handle != now.handle) disarm(ds, dir);
  ds.arming = now;
  if (now.handle < 0) log_unwatched(dir, now.err);
}

void FileWatch::disarm(DirState& ds, const std::string& dir) {
  if (ds.arming.handle < 0) return;
  auto it = handle_dirs_.find(ds.arming.handle);
  if (it != handle_dirs_.end()) {
    auto& v = it->second;
    auto at = std::find(v.begin(), v.end(), dir);
    if (at != v.end()) v.erase(at);
    if (v.empty()) {
      // Released by the next round, on the worker: never while a round
      // may be watching the same inode (and be given the same handle).
      release_.insert(ds.arming.handle);
      handle_dirs_.erase(it);
    }
  }
  ds.arming.handle = -1;
}

void FileWatch::log_unwatched(const std::string& dir, int err) {
  if (err == ENOSPC && !logged_exhausted_) {
    logged_exhausted_ = true;
    log::warn("file watch: out of watches (" +
              (cfg_.max_watches != 0 ? "--max-watches " + std::to_string(cfg_.max_watches)
                                     : std::string("fs.inotify.max_user_watches")) +
              "); files under " + dir + " and any others past the limit are polled by stat every " +
              std::to_string(cfg_.poll_every.count()) + " ms (logged once)");
  } else if (err == EREMOTE) {
    log::info("file watch: " + dir + " is on a file system without change events; its files are polled");
  } else {
    log::debug("file watch: cannot watch " + dir + " (" + std::strerror(err) + "); polling");
  }
}

// ---- queries ----

uint64_t FileWatch::generation(const std::string& path) const {
  auto it = paths_.find(path);
  if (it == paths_.end() || it->second.stale || it->second.polled || stopped_) return 0;
  if (backend_ && backend_->polling()) return 0;  // changes are seen up to a poll late
  return it->second.gen;
}

boost::json::object FileWatch::info() const {
  size_t watched = 0;
  size_t polled = 0;
  for (const auto& [path, ps] : paths_) (ps.polled ? polled : watched) += 1;
  // "poll": the backend polls (no inotify, or reading it failed); FileWatch
  // itself polls the "polled" paths whatever the backend.
  const char* backend = backend_ ? backend_->name() : "poll";
  return boost::json::object{
      {"backend", backend}, {"paths", watched}, {"polled", polled}, {"watches", handle_dirs_.size()}};
}

}  // namespace hs::daemon::watch
