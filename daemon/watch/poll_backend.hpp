// The portable watch::Backend: every watched directory is listed and its
// entries stat'ed on a worker thread of its own, every `every` (2 s) and at
// once when a cookie is asked for, and the differences become the events
// inotify would have given (an entry changed, the directory itself gone).
// Used where there is no inotify (HS_HAVE_INOTIFY 0, -DHS_PORTABLE=ON),
// when inotify cannot be had, and when reading it fails at run time (the
// inotify backend hands its watches over: adopt()).
//
// What polling cannot say, and how it makes up for it:
// - which change it was: a change is reported when a scan first sees it
//   (kEntry, as IN_MODIFY), and again as complete (kEntry | kClosedWrite,
//   as IN_CLOSE_WRITE) once it is quiet, its ctime 250 ms old (a scan
//   comes again that soon), with kSettled when nothing changed in between
//   (a reader of changes has had it); one already quiet is reported once,
//   complete;
// - what a directory entry's own times, size and links say: ignored, as
//   inotify does (the change is inside it: its own watch's business);
// - a change within one tick of the file system's clock that keeps the
//   size: a file first listed with a ctime that recent (racy, as git's
//   index entries) has its content's digest kept, and a scan that finds its
//   stat unchanged compares the content instead, until the clock has moved
//   on; one that cannot be read, or is over 1 MiB, is reported at the next
//   scan, changed or not. (Reporting every racy file was a change nobody
//   made: a trigger ran again after its start-up run for a file edited
//   while the daemon was down, or just before a trigger.set.)
// - where a moved directory went: a directory that is no longer the one at
//   its path, or is gone, is reported kSelf | kGone, and its handle ends.
// request_cookie is answered after a whole scan that started after it: a
// sync to now.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

/// How often a polling backend scans: PROTOCOL.md promises "at least every 2 s".
constexpr std::chrono::milliseconds kPollEvery{2000};

class PollBackend final : public Backend {
 public:
  PollBackend(boost::asio::io_context& io, OnEvents on_events, std::chrono::milliseconds every = kPollEvery);
  ~PollBackend() override;
  PollBackend(const PollBackend&) = delete;
  PollBackend& operator=(const PollBackend&) = delete;

  /// Safe from any thread (TreeWatch adds on its worker); the first listing
  /// is made before it returns, so a change after it is reported.
  Result<int> add_dir(const std::string& dir, bool follow_link) override;
  /// add_dir under a handle the caller chose (a backend handing its watches
  /// over); it must not be one this backend gave (they start at 2^30).
  Status adopt(int handle, const std::string& dir, bool follow_link);
  void remove(int handle) override;
  Status request_cookie() override;
  void stop() override;
  bool events_unreliable(const std::string&) const override { return false; }
  const char* name() const override { return "poll"; }
  bool polling() const override { return true; }

  struct Entry;
  struct Dir;

 private:
  void work();
  std::shared_ptr<Dir> list(const std::string& dir, bool follow_link, int& err) const;

  boost::asio::io_context& io_;
  OnEvents on_events_;
  std::chrono::milliseconds every_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // loop side

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::shared_ptr<Dir>> dirs_;
  int next_handle_ = 1 << 30;
  unsigned cookies_ = 0;  // asked for, not yet served by a scan
  bool quit_ = false;
  std::thread worker_;
};

}  // namespace hs::daemon::watch
