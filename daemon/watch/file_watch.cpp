#include "daemon/watch/file_watch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <iterator>

#include "common/log.hpp"

namespace hs::daemon::watch {
namespace asio = boost::asio;
using Event = Backend::Event;

struct FileWatch::Node {
  int err = 0;
  bool link = false;
  bool dir = false;
  std::string target;  // the link's content
};

namespace {

// Symlinks followed on one path before giving up (as the kernel: ELOOP).
constexpr int kMaxHops = 40;

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string parent_of(const std::string& dir) {
  auto slash = dir.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

void split_into(const std::string& path, std::deque<std::string>& out, bool front) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  if (front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

std::pair<int, FileStat> snapshot(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, FileStat{}};
  return {0, FileStat::of(st)};
}

}  // namespace

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
  std::unordered_map<std::string, Node> memo;  // shared ancestors are lstat'ed once
  for (const auto& p : want) {
    if (!have.count(p)) add_path(p, key, memo);
  }
  for (const auto& p : have) {
    if (!want.count(p)) remove_path(p, key);
  }
  if (want.empty()) {
    interests_.erase(key);
  } else {
    have = std::move(want);
  }
  schedule_poll();
}

void FileWatch::drop_interest(const std::string& key) {
  auto it = interests_.find(key);
  if (it == interests_.end()) return;
  for (const auto& p : it->second) remove_path(p, key);
  interests_.erase(it);
}

void FileWatch::add_path(const std::string& path, const std::string& key,
                         std::unordered_map<std::string, Node>& memo) {
  auto [it, fresh] = paths_.try_emplace(path);
  it->second.keys.insert(key);
  if (!fresh) return;
  it->second.self = &it->first;
  ensure_backend();
  resolve(it->second, memo);
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

void FileWatch::resolve(PathState& ps, std::unordered_map<std::string, Node>& memo) {
  const std::string& path = *ps.self;
  auto lstat_of = [&memo](const std::string& p) -> const Node& {
    auto [it, fresh] = memo.try_emplace(p);
    if (!fresh) return it->second;
    Node& n = it->second;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      n.err = errno;
      return n;
    }
    n.dir = S_ISDIR(st.st_mode);
    n.link = S_ISLNK(st.st_mode);
    if (n.link) {
      std::array<char, PATH_MAX> buf{};
      ssize_t len = ::readlink(p.c_str(), buf.data(), buf.size());
      if (len < 0) {
        n.err = errno;
      } else {
        n.target.assign(buf.data(), static_cast<size_t>(len));
      }
    }
    return n;
  };

  std::vector<std::pair<std::string, std::string>> deps;
  std::deque<std::string> todo;
  split_into(path[0] == '/' ? path : join(cwd_, path), todo, false);
  std::string cur = "/";
  int hops = 0;
  // As the kernel resolves it, one component at a time, noting each
  // (directory, entry) the result depends on. Stops where the path stops
  // resolving: the entry it needs there is watched, so its appearance is
  // seen.
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      cur = parent_of(cur);
      continue;
    }
    deps.emplace_back(cur, c);
    std::string next = join(cur, c);
    const Node& n = lstat_of(next);
    if (n.err != 0) break;
    if (n.link) {
      if (++hops > kMaxHops) break;
      if (!n.target.empty() && n.target[0] == '/') cur = "/";
      split_into(n.target, todo, true);
      continue;
    }
    if (!todo.empty() && !n.dir) break;  // ENOTDIR
    cur = std::move(next);
  }
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());

  // New watches first, then the old released: a directory in both is never
  // unwatched in between. (Both lists are sorted.)
  std::vector<std::pair<std::string, std::string>> added, dropped;
  std::set_difference(deps.begin(), deps.end(), ps.deps.begin(), ps.deps.end(), std::back_inserter(added));
  std::set_difference(ps.deps.begin(), ps.deps.end(), deps.begin(), deps.end(), std::back_inserter(dropped));
  attach(ps.self, added);
  detach(ps.self, dropped);
  ps.deps = std::move(deps);
  ps.stale = false;
  ps.polled = ps.deps.empty();
  for (const auto& [dir, entry] : ps.deps) {
    DirState& ds = dirs_.at(dir);
    // The OS dropped its watch (deleted, perhaps re-created under the same
    // name): watch what is there now. Failures wait for the poll to retry.
    if (ds.handle < 0 && ds.err == 0) arm(dir, ds);
    if (ds.handle < 0) ps.polled = true;
  }
  ps.gen = ++counter_;
  if (ps.polled) ps.snap = snapshot(path);
}

void FileWatch::attach(const std::string* path, const std::vector<std::pair<std::string, std::string>>& deps) {
  for (const auto& [dir, entry] : deps) {
    auto [it, fresh] = dirs_.try_emplace(dir);
    if (fresh) arm(dir, it->second);
    it->second.entries[entry].insert(path);
  }
}

void FileWatch::detach(const std::string* path, const std::vector<std::pair<std::string, std::string>>& deps) {
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
    auto h = backend_->add_dir(dir);
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
  std::unordered_map<std::string, Node> memo;
  for (const auto& path : pending_paths_) {
    auto it = paths_.find(path);
    if (it != paths_.end()) resolve(it->second, memo);
  }
  pending_paths_.clear();
  std::vector<std::string> keys(pending_keys_.begin(), pending_keys_.end());
  pending_keys_.clear();
  schedule_poll();
  if (!keys.empty() && on_dirty_) on_dirty_(keys);
}

// ---- polling what cannot be watched ----

void FileWatch::schedule_poll() {
  if (poll_armed_ || stopped_) return;
  bool any = false;
  for (const auto& [dir, ds] : dirs_) {
    if (ds.handle < 0) {
      any = true;
      break;
    }
  }
  if (!any) return;
  poll_armed_ = true;
  poll_timer_.expires_after(cfg_.poll_every);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    poll_armed_ = false;
    if (ec || stopped_) return;
    poll();
  });
}

void FileWatch::poll() {
  // Directories that could not be watched: try again (watches may have
  // been released); a success re-resolves their paths.
  for (auto& [dir, ds] : dirs_) {
    if (ds.handle >= 0 || ds.err == EREMOTE) continue;
    if (ds.err == ENOSPC && cfg_.max_watches != 0 && handle_dirs_.size() >= cfg_.max_watches) continue;
    arm(dir, ds);
    if (ds.handle >= 0) {
      for (const auto& [entry, ps] : ds.entries) {
        for (const std::string* p : ps) touch(*p);
      }
    }
  }
  for (auto& [path, ps] : paths_) {
    if (!ps.polled || ps.stale) continue;
    auto now = snapshot(path);
    if (!ps.snap || *ps.snap != now) {
      ps.snap = now;
      touch(path);
    }
  }
  if (!pending_paths_.empty()) {
    flush();  // a poll is late enough already: no debounce
  } else {
    schedule_poll();
  }
}

// ---- sync to now ----

void FileWatch::sync(std::function<void()> done) {
  // Nothing watched: nothing is trusted without a stat, so nothing to wait for.
  if (stopped_ || !backend_ || handle_dirs_.empty()) return done();
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

// ---- queries ----

uint64_t FileWatch::generation(const std::string& path) const {
  auto it = paths_.find(path);
  if (it == paths_.end() || it->second.stale || it->second.polled || stopped_) return 0;
  return it->second.gen;
}

boost::json::object FileWatch::info() const {
  size_t watched = 0;
  size_t polled = 0;
  for (const auto& [path, ps] : paths_) (ps.polled ? polled : watched) += 1;
  return boost::json::object{{"paths", watched}, {"polled", polled}, {"watches", handle_dirs_.size()}};
}

}  // namespace hs::daemon::watch
