// FileWatch: polling by stat what cannot be watched. The stats, and the
// retries of directories that could not be watched, are a round's work on
// the worker (file_watch_round.cpp): a path on a hung mount delays the next
// poll, never the loop.
#include <utility>
#include <vector>

#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::watch {

void FileWatch::schedule_poll() {
  if (poll_armed_ || poll_again_ || stopped_ || (running_ && running_->poll)) return;
  bool any = false;
  for (const auto& [dir, ds] : dirs_) {
    if (ds.arming.handle < 0) {
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

void FileWatch::poll() { start_round(/*poll=*/true); }

void FileWatch::polled(const std::vector<std::string>& paths, const std::vector<Snapshot>& now) {
  // Looked up again: any may have been dropped, or be watched now, since
  // the round was started.
  for (size_t i = 0; i < paths.size(); ++i) {
    auto it = paths_.find(paths[i]);
    if (it == paths_.end() || !it->second.polled || it->second.stale) continue;
    if (!it->second.snap || *it->second.snap != now[i]) {
      it->second.snap = now[i];
      touch(paths[i]);
    }
  }
}

}  // namespace hs::daemon::watch
