#include "daemon/live/mailbox.hpp"

namespace hs::daemon::live {

void Mailbox::put_drifted(uint64_t subscription, const std::string& key, net::ResponseText msg) {
  if (resync_) return;
  Key k{subscription, key};
  if (auto it = drifted_.find(k); it != drifted_.end()) {
    entries_.erase(it->second);
    drifted_.erase(it);
  } else if (drifted_.size() >= kMaxDrifted) {
    return overflow();
  }
  entries_.push_back(Entry{subscription, key, std::move(msg)});
  drifted_.emplace(std::move(k), std::prev(entries_.end()));
}

void Mailbox::put_changed(uint64_t subscription, net::ResponseText msg) {
  if (resync_) return;
  if (changed_ >= kMaxChanged) return overflow();
  entries_.push_back(Entry{subscription, std::nullopt, std::move(msg)});
  ++changed_;
}

std::optional<net::ResponseText> Mailbox::pop() {
  if (entries_.empty()) return std::nullopt;
  Entry& e = entries_.front();
  if (e.key) {
    drifted_.erase(Key{e.subscription, *e.key});
  } else {
    --changed_;
  }
  net::ResponseText out = std::move(e.msg);
  entries_.pop_front();
  return out;
}

void Mailbox::drop_subscription(uint64_t subscription) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->subscription != subscription) {
      ++it;
      continue;
    }
    if (it->key) {
      drifted_.erase(Key{subscription, *it->key});
    } else {
      --changed_;
    }
    it = entries_.erase(it);
  }
}

void Mailbox::overflow() {
  entries_.clear();
  drifted_.clear();
  changed_ = 0;
  resync_ = true;
  ++overflows_;
}

}  // namespace hs::daemon::live
