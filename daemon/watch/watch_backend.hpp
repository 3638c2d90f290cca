// The platform half of FileWatch, StateWatch and TreeWatch: directory
// watches and their events, in the order the OS queued them. inotify on
// Linux (inotify_backend.cpp), stat polling everywhere (poll_backend.cpp);
// a kqueue or FSEvents backend would implement the same interface, and
// make_backend would pick it.
//
// FileWatch asks only for directory watches: a directory's watch reports
// every change to its entries (written, attributes, created, deleted,
// renamed in or out), which covers every way a tracked file changes, and a
// file replaced by rename keeps being watched because its directory is.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace hs::daemon::watch {

class Backend {
 public:
  enum What : unsigned {
    kEntry = 1u << 0,     // an entry `name` of the directory changed
    kSelf = 1u << 1,      // the directory itself was deleted, moved or unmounted
    kGone = 1u << 2,      // the OS dropped the watch (`handle` is free again)
    kOverflow = 1u << 3,  // the OS lost events: anything may have changed
    kCookie = 1u << 4,    // the answer to request_cookie
    // With kEntry, when the OS says which change it was (a backend that
    // cannot leaves them out):
    kClosedWrite = 1u << 5,  // a writer closed it: what it wrote is complete
    kMovedIn = 1u << 6,      // it was renamed into the directory
    // With kClosedWrite, from a polling backend: nothing changed since the
    // entry was reported (kEntry, when a scan first saw the change); it is
    // complete only now. A reader of content (StateWatch) reads it now; a
    // reader of changes (TreeModel) has had it: inotify's IN_MODIFY and
    // IN_CLOSE_WRITE of one write come together, polling's a scan apart.
    kSettled = 1u << 7,
  };
  struct Event {
    int handle = -1;
    unsigned what = 0;
    std::string_view name;  // for kEntry
    bool dir = false;       // for kEntry: the entry is a directory (when the OS says)
  };
  /// Called on the loop with the events of one read, in the OS's order.
  using OnEvents = std::function<void(const std::vector<Event>&)>;

  virtual ~Backend() = default;

  /// Watches directory `dir`; the handle its events carry. Fails with the
  /// OS's errno (ENOSPC: out of watches; ENOENT, EACCES, ENOTDIR, ...).
  /// Two paths of one directory may share a handle. A symlink `dir` is
  /// followed only when `follow_link` (FileWatch resolves links itself).
  virtual Result<int> add_dir(const std::string& dir, bool follow_link) = 0;
  /// Releases a handle add_dir returned (and the OS did not drop).
  virtual void remove(int handle) = 0;
  /// Queues an event of kind kCookie behind every event queued so far
  /// ("sync to now"); when it arrives, every earlier event has been read.
  virtual Status request_cookie() = 0;
  /// Stops reading; no callback runs afterwards.
  virtual void stop() = 0;
  /// Whether changes made through `dir` by other machines or the kernel
  /// go unreported there (network and FUSE file systems): poll instead.
  virtual bool events_unreliable(const std::string& dir) const = 0;
  /// "inotify" or "poll" (daemon.info), as of now: an inotify backend whose
  /// reading failed polls from then on.
  virtual const char* name() const = 0;
  /// Whether changes are found by polling (poll_backend.hpp): they are
  /// seen up to a poll period late, so no generation may be trusted.
  virtual bool polling() const = 0;
};

/// The backend of this platform, reading on `io`: inotify, falling back to
/// polling when reading it fails; polling where there is no inotify
/// (HS_HAVE_INOTIFY 0) or none can be had (no instances left, logged).
/// add_dir and remove may be called from another thread (FileWatch's and
/// TreeWatch's workers, which make every call that may block on a mount);
/// events always run on the loop.
Result<std::unique_ptr<Backend>> make_backend(boost::asio::io_context& io, Backend::OnEvents on_events);

}  // namespace hs::daemon::watch
