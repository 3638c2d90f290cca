// FileWatch: polling by stat what cannot be watched.
#include <sys/stat.h>

#include <cerrno>

#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::watch {

std::pair<int, FileStat> FileWatch::snapshot(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, FileStat{}};
  return {0, FileStat::of(st)};
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

}  // namespace hs::daemon::watch
