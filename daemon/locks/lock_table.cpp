#include "daemon/locks/lock_table.hpp"

#include <algorithm>

namespace hs::daemon::locks {

void LockTable::answer_all(Pending& out) {
  // Answers last, on a consistent table: each may reenter it (see the header).
  for (auto& [done, answer] : out) {
    if (done) done(std::move(answer));
  }
}

LockTable::Refusal LockTable::acquire(ConnId conn, std::optional<int64_t> pid, const std::string& name, int64_t wait_ms,
                                      bool coalesce, Done done) {
  auto it = locks_.find(name);
  if (it == locks_.end()) {
    Lock& l = locks_[name];
    l.holder = conn;
    l.holder_pid = pid;
    l.held_since = Clock::now();
    done(Answer{true, false, pid});
    return Refusal::none;
  }
  Lock& l = it->second;
  if (l.holder == conn) return Refusal::already_held;
  const bool coalescer_waits = std::any_of(l.waiters.begin(), l.waiters.end(), [](const Waiter& w) { return w.coalesce; });
  for (const auto& w : l.waiters) {
    if (w.conn == conn) return Refusal::already_waiting;
  }
  const auto holder_pid = l.holder_pid;
  if (coalesce && coalescer_waits) {
    // The waiting coalescer's run comes after the current holder's, so it
    // covers this request too.
    done(Answer{false, true, holder_pid});
    return Refusal::none;
  }
  if (wait_ms <= 0 || stopping_) {
    done(Answer{false, false, holder_pid});
    return Refusal::none;
  }
  Waiter w;
  w.id = ++next_waiter_;
  w.conn = conn;
  w.pid = pid;
  w.coalesce = coalesce;
  w.since = Clock::now();
  w.done = std::move(done);
  if (wait_ms < kUnboundedWaitMs) {
    w.timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(wait_ms));
    // The timer dies with its waiter; a cancelled wait (ec set) must not
    // touch the table, which may be gone by then.
    w.timer->async_wait([this, name, id = w.id](boost::system::error_code ec) {
      if (!ec) expire(name, id);
    });
  }
  l.waiters.push_back(std::move(w));
  return Refusal::none;
}

void LockTable::expire(const std::string& name, uint64_t waiter) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  auto& q = it->second.waiters;
  auto w = std::find_if(q.begin(), q.end(), [&](const Waiter& x) { return x.id == waiter; });
  if (w == q.end()) return;
  Pending out;
  out.emplace_back(std::move(w->done), Answer{false, false, it->second.holder_pid});
  q.erase(w);
  answer_all(out);
}

void LockTable::grant_next(const std::string& name, Lock& l, Pending& out) {
  l.holder.reset();
  l.holder_pid.reset();
  if (l.waiters.empty()) {
    locks_.erase(name);
    return;
  }
  Waiter w = std::move(l.waiters.front());
  l.waiters.pop_front();
  l.holder = w.conn;
  l.holder_pid = w.pid;
  l.held_since = Clock::now();
  out.emplace_back(std::move(w.done), Answer{true, false, w.pid});
  // w.timer is destroyed here: its pending wait completes as cancelled.
}

bool LockTable::release(ConnId conn, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.holder != conn) return false;
  Pending out;
  grant_next(name, it->second, out);
  answer_all(out);
  return true;
}

void LockTable::connection_closed(ConnId conn) {
  // Its waits first, so that none of its own waits is granted a lock it
  // releases below. Its waits are dropped unanswered: nobody reads them.
  std::vector<std::string> held;
  for (auto it = locks_.begin(); it != locks_.end();) {
    Lock& l = it->second;
    std::erase_if(l.waiters, [&](const Waiter& w) { return w.conn == conn; });
    if (l.holder == conn) held.push_back(it->first);
    it = !l.holder && l.waiters.empty() ? locks_.erase(it) : std::next(it);
  }
  Pending out;
  for (const auto& name : held) {
    auto it = locks_.find(name);
    if (it != locks_.end() && it->second.holder == conn) grant_next(name, it->second, out);
  }
  answer_all(out);
}

void LockTable::shutdown() {
  stopping_ = true;
  Pending out;
  for (auto& [name, l] : locks_) {
    for (auto& w : l.waiters) out.emplace_back(std::move(w.done), std::nullopt);
    l.waiters.clear();
  }
  answer_all(out);
}

size_t LockTable::held() const {
  size_t n = 0;
  for (const auto& kv : locks_) n += kv.second.holder ? 1 : 0;
  return n;
}

size_t LockTable::waiting() const {
  size_t n = 0;
  for (const auto& kv : locks_) n += kv.second.waiters.size();
  return n;
}

}  // namespace hs::daemon::locks
