// Watching the files that subscribers care about (issue "live drift").
//
// The subscription layer tells the watch which paths each interest needs
// (an interest is a subscribed target: key "account/target" or "target");
// the watch reports, debounced and on the event loop, which interests'
// files may have changed. It never says what changed: the caller computes
// the drift again (check_drift), which is cheap with the stat cache.
//
// This is the seam for the platform backends (inotify on Linux; kqueue or
// FSEvents would go beside it). Until a backend is in, nothing is watched:
// on_dirty never fires and sync() completes at once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hs::daemon {

class FileWatch {
 public:
  /// Keys of interests whose files may have changed since the last call
  /// (on overflow or a rescan: every key). Called on the loop.
  using OnDirty = std::function<void(const std::vector<std::string>& keys)>;

  explicit FileWatch(boost::asio::io_context& io) : io_(io) {}
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  void set_on_dirty(OnDirty cb) { on_dirty_ = std::move(cb); }

  /// The tracked paths (as stored, absolute or ~-relative resolved by the
  /// caller) that interest `key` needs watched; replaces its earlier set.
  void set_interest(const std::string& key, std::vector<std::string> paths) {
    interests_[key] = std::move(paths);
  }
  /// `key` needs nothing watched any more; its watches are released.
  void drop_interest(const std::string& key) { interests_.erase(key); }

  /// "Sync to now": calls `done` on the loop once every file event that
  /// happened before this call has been taken into account, so an answer
  /// computed in `done` is not stale.
  void sync(std::function<void()> done) { done(); }

  /// For daemon.info: {"paths": watched paths, "polled": paths checked by stat}.
  boost::json::object info() const { return boost::json::object{{"paths", 0}, {"polled", 0}}; }

 private:
  [[maybe_unused]] boost::asio::io_context& io_;
  OnDirty on_dirty_;
  std::map<std::string, std::vector<std::string>> interests_;
};

}  // namespace hs::daemon
