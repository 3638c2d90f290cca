#include "daemon/watch/file_watch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <iterator>

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
  if (backend_) backend_->stop();
  debounce_.cancel();
  poll_timer_.cancel();
  if (stats_) stats_->stop();  // its pending continuation is dropped
  // A sync waiting for a cookie that will never come: answer it now, from
  // what is known (generations are 0 from here on, so nothing is trusted).
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

void FileWatch::set_interest(const std::string& key, std::vector<std::string> paths) {
  if (stopped_) return;
  std::set<std::string> want;
  for (auto& p : paths) {
    if (p.empty()) continue;
    want.insert(p);
  }
  std::set<std::string>& have = interests_[key];
  // Added first, so that a directory both sets need keeps its watch.
  Resolver resolver(cwd_);  // shared ancestors are lstat'ed once
  for (const auto& p : want) {
    if (!have.count(p)) add_path(p, key, resolver);
  }
  for (const auto& p : have) {
    if (!want.count(p)) remove_path(p, key);
  }
  if (want.empty()) {
    interests_.erase(key);
  } else {
    have = std::move(want);
  }
  if (!pending_paths_.empty()) schedule_flush();  // a replaced directory was found
  schedule_poll();
}

void FileWatch::drop_interest(const std::string& key) {
  auto it = interests_.find(key);
  if (it == interests_.end()) return;
  for (const auto& p : it->second) remove_path(p, key);
  interests_.erase(it);
}

void FileWatch::add_path(const std::string& path, const std::string& key, Resolver& resolver) {
  auto [it, fresh] = paths_.try_emplace(path);
  it->second.keys.insert(key);
  if (!fresh) return;
  it->second.self = &it->first;
  ensure_backend();
  resolve(it->second, resolver);
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

// ---- resolving a path to the entries it hangs on ----

void FileWatch::resolve(PathState& ps, Resolver& resolver) {
  const std::string& path = *ps.self;
  std::vector<Dep> deps = resolver.deps(path);

  // New watches first, then the old released: a directory in both is never
  // unwatched in between. (Both lists are sorted.)
  std::vector<Dep> added, dropped;
  std::set_difference(deps.begin(), deps.end(), ps.deps.begin(), ps.deps.end(), std::back_inserter(added));
  std::set_difference(ps.deps.begin(), ps.deps.end(), deps.begin(), deps.end(), std::back_inserter(dropped));
  attach(ps.self, added);
  detach(ps.self, dropped);
  ps.deps = std::move(deps);
  ps.stale = false;
  ps.polled = ps.deps.empty();
  for (const auto& [dir, entry] : ps.deps) {
    DirState& ds = dirs_.at(dir);
    follow_replaced(dir, ds, resolver, ps.self);
    // The OS dropped its watch (deleted, perhaps re-created under the same
    // name): watch what is there now. Failures wait for the poll to retry.
    if (ds.handle < 0 && ds.err == 0) arm(dir, ds);
    if (ds.handle < 0) ps.polled = true;
  }
  ps.gen = ++counter_;
  if (ps.polled) ps.snap = snapshot(path);
}

void FileWatch::follow_replaced(const std::string& dir, DirState& ds, Resolver& resolver,
                                const std::string* except) {
  if (ds.handle < 0) return;
  auto id = resolver.dir_identity(dir);
  if (!id || (id->first == ds.dev && id->second == ds.ino)) return;
  // The watch is on a directory moved away (IN_MOVE_SELF keeps it there),
  // or under an ancestor that was: changes at the path went unseen until
  // now, so nothing made from them holds.
  log::debug("file watch: " + dir + " is another directory now; watching it anew");
  disarm(ds, dir);
  arm(dir, ds);
  for (const auto& [entry, ps] : ds.entries) {
    for (const std::string* p : ps) {
      if (p != except) touch(*p);
    }
  }
}

void FileWatch::attach(const std::string* path, const std::vector<Dep>& deps) {
  for (const auto& [dir, entry] : deps) {
    auto [it, fresh] = dirs_.try_emplace(dir);
    if (fresh) arm(dir, it->second);
    it->second.entries[entry].insert(path);
  }
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

void FileWatch::arm(const std::string& dir, DirState& ds) {
  ds.handle = -1;
  ds.err = 0;
  if (!backend_) {
    ds.err = ENOSYS;
    return;
  }
  if (cfg_.max_watches != 0 && handle_dirs_.size() >= cfg_.max_watches) {
    ds.err = ENOSPC;
  } else if (backend_->events_unreliable(dir)) {
    ds.err = EREMOTE;
  } else {
    // Before the watch: a directory replaced in between is then noticed
    // at the next resolve (its parent's event asks for one), not missed.
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0) {
      ds.dev = st.st_dev;
      ds.ino = st.st_ino;
    }
    auto h = backend_->add_dir(dir, /*follow_link=*/false);
    if (h) {
      ds.handle = *h;
      handle_dirs_[*h].push_back(dir);
      return;
    }
    ds.err = h.error().sys_errno != 0 ? h.error().sys_errno : EIO;
  }
  if (ds.err == ENOSPC && !logged_exhausted_) {
    logged_exhausted_ = true;
    log::warn("file watch: out of watches (" +
              (cfg_.max_watches != 0 ? "--max-watches " + std::to_string(cfg_.max_watches)
                                     : std::string("fs.inotify.max_user_watches")) +
              "); files under " + dir + " and any others past the limit are polled by stat every " +
              std::to_string(cfg_.poll_every.count()) + " ms (logged once)");
  } else if (ds.err == EREMOTE) {
    log::info("file watch: " + dir + " is on a file system without change events; its files are polled");
  } else {
    log::debug("file watch: cannot watch " + dir + " (" + std::strerror(ds.err) + "); polling");
  }
}

void FileWatch::disarm(DirState& ds, const std::string& dir) {
  if (ds.handle < 0) return;
  auto it = handle_dirs_.find(ds.handle);
  if (it != handle_dirs_.end()) {
    auto& v = it->second;
    auto at = std::find(v.begin(), v.end(), dir);
    if (at != v.end()) v.erase(at);
    if (v.empty()) {
      if (backend_) backend_->remove(ds.handle);
      handle_dirs_.erase(it);
    }
  }
  ds.handle = -1;
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
