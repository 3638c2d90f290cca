// FileWatch: polling by stat what cannot be watched.
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::watch {

std::pair<int, FileStat> FileWatch::snapshot(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, FileStat{}};
  return {0, FileStat::of(st)};
}

// ---- polling what cannot be watched ----

void FileWatch::schedule_poll() {
  if (poll_armed_ || poll_running_ || stopped_) return;
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
  std::vector<std::string> paths;
  for (const auto& [path, ps] : paths_) {
    if (ps.polled && !ps.stale) paths.push_back(path);
  }
  if (paths.empty()) {
    poll_done();
    return;
  }
  // stat(2) on the worker: a path on a hung mount delays the next poll,
  // never the loop. The paths are looked up again when the stats come
  // back: any may have been dropped, or be watched now.
  if (!stats_) stats_ = std::make_unique<Worker>(io_);
  poll_running_ = true;
  auto now = std::make_shared<std::vector<std::pair<int, FileStat>>>();
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(paths));
  stats_->post(
      [shared, now] {
        now->reserve(shared->size());
        for (const auto& p : *shared) now->push_back(snapshot(p));
      },
      [this, shared, now] {
        poll_running_ = false;
        if (stopped_) return;
        polled(*shared, *now);
      });
}

void FileWatch::polled(const std::vector<std::string>& paths, const std::vector<std::pair<int, FileStat>>& now) {
  for (size_t i = 0; i < paths.size(); ++i) {
    auto it = paths_.find(paths[i]);
    if (it == paths_.end() || !it->second.polled || it->second.stale) continue;
    if (!it->second.snap || *it->second.snap != now[i]) {
      it->second.snap = now[i];
      touch(paths[i]);
    }
  }
  poll_done();
}

void FileWatch::poll_done() {
  if (!pending_paths_.empty()) {
    flush();  // a poll is late enough already: no debounce
  } else {
    schedule_poll();
  }
}

}  // namespace hs::daemon::watch
