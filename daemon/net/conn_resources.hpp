// What a connection holds beyond its socket: subscriptions, locks, and
// anything else a method attaches to "this client". The session releases
// everything here when the connection ends, however it ends (the client
// closed, was killed, was cut off at a limit, or the daemon stopped), so a
// method that hands out a per-connection resource registers its release
// here and needs no other cleanup path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace hs::daemon::net {

class ConnResources {
 public:
  using Release = std::function<void()>;

  ConnResources() = default;
  ConnResources(const ConnResources&) = delete;
  ConnResources& operator=(const ConnResources&) = delete;
  ~ConnResources() { release_all(); }

  /// Holds a resource under `key` (e.g. "lock:deploy"); `release` runs when
  /// the connection ends or the resource is dropped. A key held already is
  /// replaced (its old release runs first). Refused (false) once released.
  bool hold(const std::string& key, Release release) {
    if (released_) return false;
    drop(key);
    held_.emplace(key, std::move(release));
    return true;
  }
  /// Releases one resource now (an explicit unlock); false if not held.
  bool drop(const std::string& key) {
    auto it = held_.find(key);
    if (it == held_.end()) return false;
    Release r = std::move(it->second);
    held_.erase(it);
    if (r) r();
    return true;
  }
  bool holds(const std::string& key) const { return held_.count(key) != 0; }
  size_t size() const { return held_.size(); }
  /// release_all() ran: the client is gone, nothing more may be held.
  bool released() const { return released_; }

  /// Releases everything, in reverse order of the keys; later holds fail.
  void release_all() {
    released_ = true;
    while (!held_.empty()) {
      auto it = std::prev(held_.end());
      Release r = std::move(it->second);
      held_.erase(it);
      if (r) r();
    }
  }

 private:
  std::map<std::string, Release> held_;
  bool released_ = false;
};

}  // namespace hs::daemon::net
