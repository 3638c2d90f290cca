// Watching the files that subscribers care about (issue "live drift").
//
// The subscription layer tells the watch which paths each interest needs
// (an interest is a subscribed target: key "account/target" or "target");
// the watch reports, debounced and on the event loop, which interests'
// files may have changed. It never says what changed: the caller computes
// the drift again (hashing::DriftChecker), which is cheap with the stat cache.
//
// How a path is watched: its every directory, from "/" down, is watched
// (a directory watch reports every change to its entries), and a path
// depends on (directory, entry name) pairs: each component of the path in
// its parent, and through a symlink each component of the link's target
// too. So a file written in place, saved by rename, deleted, re-created
// or moved away changes an entry of its directory; a directory removed and
// re-created, or a link retargeted, changes an entry of an ancestor. Any
// of those marks the path: its generation changes (the stat cache trusts
// no entry made before), and it is resolved again (watches follow the new
// directories and link targets) before the interest is reported dirty.
// Events of other entries of a watched directory (a busy home directory)
// are read and dropped.
//
// When a directory cannot be watched (out of watches, --max-watches, a
// network file system, a permission), the paths under it are polled by
// stat every 2 s instead; the kernel's queue overflowing marks every path.
//
// No file system call is made on the loop: a hung network or FUSE mount
// must delay only what needs it. Resolving paths, adding and releasing
// watches and the polls' stats run in rounds on a worker thread of the
// watch (round_work.hpp), one round at a time; the loop keeps the model
// (interests, paths, their entries and generations) and applies each
// round's result. Meanwhile a path being resolved is not trusted
// (generation 0), events are read and applied as usual and kept, and are
// applied once more after the result (a watch the round added may have
// had events before the loop knew its handle); a path touched meanwhile
// stays untrusted and is resolved again.
//
// The platform part is watch::Backend (watch_backend.hpp; inotify on Linux).
// The rest: resolve.cpp (a path to the entries it hangs on), round_work.cpp
// (a round's file system calls), file_watch.cpp (interests, watches,
// generations), file_watch_round.cpp (starting rounds, applying them),
// file_watch_events.cpp (events, their debounce, the sync to now),
// file_watch_poll.cpp (polling).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/file_stat.hpp"
#include "daemon/watch/resolve.hpp"
#include "daemon/watch/round_work.hpp"
#include "daemon/watch/watch_backend.hpp"
#include "daemon/watch/worker.hpp"

namespace hs::daemon::watch {

class FileWatch {
 public:
  /// Keys of interests whose files may have changed since the last call
  /// (on overflow or a rescan: every key). Called on the loop.
  using OnDirty = std::function<void(const std::vector<std::string>& keys)>;

  struct Config {
    /// Directory watches this daemon may use; 0: as many as the OS gives.
    size_t max_watches = 0;
    /// Debounce: report once no event came for `quiet`, and at most
    /// `max_delay` after the first.
    std::chrono::milliseconds quiet{50};
    std::chrono::milliseconds max_delay{200};
    /// How often paths that cannot be watched are stat'ed.
    std::chrono::milliseconds poll_every{2000};
  };

  explicit FileWatch(boost::asio::io_context& io) : FileWatch(io, Config{}) {}
  FileWatch(boost::asio::io_context& io, Config cfg);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  void set_on_dirty(OnDirty cb) { on_dirty_ = std::move(cb); }

  /// The tracked paths (as stored, absolute or ~-relative resolved by the
  /// caller) that interest `key` needs watched; replaces its earlier set.
  /// `ready` (may be empty) runs on the loop once the watches are in place:
  /// a change after that is reported. Paths already watched for another
  /// interest are in place at once; new ones once the worker resolved them
  /// (a hung mount delays only `ready`). Until then they are not trusted.
  void set_interest(const std::string& key, std::vector<std::string> paths, std::function<void()> ready = {});
  /// `key` needs nothing watched any more; its watches are released.
  void drop_interest(const std::string& key);

  /// "Sync to now": calls `done` on the loop once every file event that
  /// happened before this call has been taken into account, so an answer
  /// computed in `done` is not stale.
  void sync(std::function<void()> done);

  /// For daemon.info: {"backend": "inotify" or "poll", "paths": watched
  /// paths, "polled": paths checked by stat, "watches": directory watches
  /// in use}.
  boost::json::object info() const;

  /// A number that stays the same exactly as long as `path` is watched
  /// without a break and no event touched it; 0 when it is not watched now
  /// (no interest, polled, or being re-armed after a change). Events read
  /// so far only: call sync() first for "now".
  uint64_t generation(const std::string& path) const;

  /// Moves on whenever any path's generation changes or a path stops being
  /// watched: equal epochs mean every generation() is as it was.
  uint64_t epoch() const { return counter_; }
  /// Whether any path is watched: when not, generation() is 0 for all.
  bool watches_any() const { return !stopped_ && !paths_.empty() && !(backend_ && backend_->polling()); }

  /// Releases the OS watch and ends every timer; pending syncs and
  /// set_interest readies complete (after the worker's round in progress,
  /// if any, ended). Nothing is watched afterwards.
  void stop();

 private:
  struct PathState {
    const std::string* self = nullptr;  // its key in paths_ (stable)
    std::set<std::string> keys;         // the interests that need it
    std::vector<Dep> deps;              // (directory, entry) it hangs on
    uint64_t gen = 0;
    uint64_t touched = 0;  // counter_ when it was last touched or added
    bool stale = true;     // touched: resolve again before trusting
    bool placed = false;   // a round attached its deps: events reach it
    bool polled = false;
    std::optional<Snapshot> snap;  // polled: last seen
  };
  struct DirState {
    Arming arming;  // handle -1: not watched (err says why; 0: to watch)
    // entry -> the paths that hang on it (keys of paths_; an ancestor's
    // entry may hold every path, so removal must not be linear).
    std::unordered_map<std::string, std::unordered_set<const std::string*>> entries;
  };
  // An event kept while a round runs, to apply again after it.
  struct Kept {
    int handle;
    unsigned what;
    std::string name;
  };
  // The round on the worker: what it was asked, and who waits for it.
  struct Round {
    uint64_t started = 0;                 // counter_ when it was handed over
    std::vector<std::string> keys;        // dirty: reported once it is applied
    std::vector<std::function<void()>> ready;
    bool poll = false;
  };

  void ensure_backend();
  void add_path(const std::string& path, const std::string& key);
  void remove_path(const std::string& path, const std::string& key);
  void attach(const std::string* path, const std::vector<Dep>& deps);
  void detach(const std::string* path, const std::vector<Dep>& deps);
  /// `dir` is watched as `now` from here on (the old handle is released
  /// when no directory uses it any more).
  void set_arming(const std::string& dir, DirState& ds, const Arming& now);
  void disarm(DirState& ds, const std::string& dir);
  void log_unwatched(const std::string& dir, int err);
  void touch(const std::string& path);
  void touch_all();
  /// Touches the paths on `dir` but those resolved by the round applied.
  void touch_dir(const DirState& ds, const std::unordered_set<const std::string*>& except);
  void on_events(const std::vector<Backend::Event>& events);
  /// One event: the paths it touches; a dropped watch is forgotten.
  void take(int handle, unsigned what, std::string_view name);
  void schedule_flush();
  void flush();
  /// Hands what is pending (paths to resolve, handles to release; with
  /// `poll`, the polled paths and unwatched directories) to the worker,
  /// unless a round runs: then it starts after that one.
  void start_round(bool poll);
  /// On the loop, with the worker's result of `in`.
  void apply(Round& r, const RoundWork& in, RoundResult& out);
  void schedule_poll();
  void poll();
  /// The poll's stats of `paths`, taken by the round.
  void polled(const std::vector<std::string>& paths, const std::vector<Snapshot>& now);
  void request_cookie();

  boost::asio::io_context& io_;
  Config cfg_;
  std::string cwd_;
  OnDirty on_dirty_;
  std::unique_ptr<Backend> backend_;
  bool backend_failed_ = false;
  bool stopped_ = false;
  bool logged_exhausted_ = false;
  std::map<std::string, std::set<std::string>> interests_;  // key -> paths
  std::unordered_map<std::string, PathState> paths_;
  std::unordered_map<std::string, DirState> dirs_;
  std::unordered_map<int, std::vector<std::string>> handle_dirs_;  // one inode may be several paths
  uint64_t counter_ = 0;  // generations come from here: never reused

  // Debounce.
  std::unordered_set<std::string> pending_paths_;
  std::set<std::string> pending_keys_;
  boost::asio::steady_timer debounce_;
  bool debounce_armed_ = false;
  std::chrono::steady_clock::time_point first_pending_;

  // Rounds. The worker is made at the first; one round runs at a time.
  std::unique_ptr<Worker> worker_;
  std::optional<Round> running_;
  bool again_ = false;        // pending work came while a round ran
  bool poll_again_ = false;   // ... and a poll was due
  std::vector<std::function<void()>> ready_next_;  // set_interest readies for the next round
  std::set<int> release_;     // handles no directory uses: released by the next round
  std::vector<Kept> kept_;    // events read while a round runs
  bool kept_overflow_ = false;  // too many to keep: every path is touched after it

  boost::asio::steady_timer poll_timer_;
  bool poll_armed_ = false;

  // Sync to now: at most one cookie in flight; syncs asked meanwhile wait
  // for the next one, which is queued after them.
  bool cookie_in_flight_ = false;
  std::vector<std::function<void()>> cookie_waiters_;
  std::vector<std::function<void()>> next_waiters_;
};

}  // namespace hs::daemon::watch
