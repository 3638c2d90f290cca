// One connection's notifications that are not in its output queue yet
// (docs/PROTOCOL.md, "Notifications"): kept apart from the answers, so that
// a subscriber that reads slowly, or not at all, holds a bounded amount and
// never slows anyone else.
//
// - state.drifted carries a target's whole drift: a newer one for the same
//   (subscription, target) replaces an older unsent one, so these are
//   bounded by subscriptions x targets.
// - state.changed entries are kept in order, at most kMaxChanged.
// Past either bound everything queued is dropped and the mailbox asks for
// a resync: the owner sends the whole drift of every subscribed target
// again once the client reads. While a resync is owed nothing more is
// queued (the resync covers it).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "daemon/net/response_text.hpp"

namespace hs::daemon::live {

class Mailbox {
 public:
  static constexpr size_t kMaxChanged = 256;
  static constexpr size_t kMaxDrifted = 4096;

  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  /// Queues a state.drifted for (subscription, target key), replacing an
  /// unsent older one (which loses its place: the newer goes last, after
  /// the state.changed that led to it).
  void put_drifted(uint64_t subscription, const std::string& key, net::ResponseText msg);
  /// Queues a state.changed.
  void put_changed(uint64_t subscription, net::ResponseText msg);
  /// The oldest queued message, removed; nullopt when empty.
  std::optional<net::ResponseText> pop();
  /// Forgets what is queued for a subscription that ended.
  void drop_subscription(uint64_t subscription);
  /// Drops everything and owes a resync (the session's output is over
  /// its bound, say).
  void overflow();

  /// True once a bound was hit; take_resync() clears it.
  bool resync_owed() const { return resync_; }
  void take_resync() { resync_ = false; }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  /// How many times a bound was hit (for daemon.info and tests).
  uint64_t overflows() const { return overflows_; }

 private:
  struct Entry {
    uint64_t subscription;
    std::optional<std::string> key;  // set for state.drifted
    net::ResponseText msg;
  };
  using Key = std::pair<uint64_t, std::string>;
  std::list<Entry> entries_;
  std::map<Key, std::list<Entry>::iterator> drifted_;
  size_t changed_ = 0;
  bool resync_ = false;
  uint64_t overflows_ = 0;
};

}  // namespace hs::daemon::live
