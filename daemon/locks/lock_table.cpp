#include "daemon/locks/lock_table.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace hs::daemon::locks {

void LockTable::answer_all(Pending& out) {
  // Answers last, on a consistent table: each may reenter it (see the header).
  for (auto& [done, answer] : out.answers) {
    if (done) done(std::move(answer));
  }
  for (const auto& name : out.owed) {
    for (const auto& cb : on_owed_) cb(name);
  }
}

void LockTable::index(ConnId conn, const std::string& name) { by_conn_[conn].insert(name); }

void LockTable::unindex(ConnId conn, const std::string& name) {
  auto c = by_conn_.find(conn);
  if (c == by_conn_.end()) return;  // closing: its index is gone already
  c->second.erase(name);
  if (c->second.empty()) by_conn_.erase(c);
}

LockTable::Refusal LockTable::acquire(ConnId conn, std::optional<int64_t> pid, const std::string& name, int64_t wait_ms,
                                      bool coalesce, Done done) {
  auto it = locks_.find(name);
  const bool free = it == locks_.end() || (!it->second.holder && it->second.waiters.empty());
  Waiter* coalescer = nullptr;
  if (!free) {
    Lock& l = it->second;
    if (l.holder == conn) return Refusal::already_held;
    for (auto& w : l.waiters) {
      if (w.conn == conn) return Refusal::already_waiting;
      if (w.coalesce && coalescer == nullptr) coalescer = &w;
    }
  }
  const bool covered = !free && coalesce && coalescer != nullptr;
  const bool takes_a_name = free || (!covered && wait_ms > 0 && !stopping_);
  if (takes_a_name) {
    auto c = by_conn_.find(conn);
    if (c != by_conn_.end() && c->second.size() >= max_per_conn_) return Refusal::too_many;
  }
  if (free) {
    Lock& l = it == locks_.end() ? locks_[name] : it->second;
    l.holder = conn;
    l.holder_pid = pid;
    l.held_since = Clock::now();
    const bool owed = l.owed;
    l.owed = false;
    ++held_;
    index(conn, name);
    done(Answer{true, false, pid, owed});
    return Refusal::none;
  }
  Lock& l = it->second;
  const auto holder_pid = l.holder_pid;
  if (covered) {
    // The waiting coalescer's run comes after the current holder's, so it
    // covers this request too; should it leave without running, the lock
    // becomes owed (drop_waiter).
    coalescer->covers_others = true;
    done(Answer{false, true, holder_pid, false});
    return Refusal::none;
  }
  if (!takes_a_name) {
    done(Answer{false, false, holder_pid, false});
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
  ++waiting_;
  index(conn, name);
  return Refusal::none;
}

LockTable::Done LockTable::drop_waiter(std::map<std::string, Lock>::iterator it, std::list<Waiter>::iterator w,
                                       Pending& out) {
  Done done = std::move(w->done);
  --waiting_;
  unindex(w->conn, it->first);
  if (w->covers_others) {
    it->second.owed = true;
    out.owed.push_back(it->first);
  }
  it->second.waiters.erase(w);  // its timer is destroyed: the wait completes as cancelled
  return done;
}

void LockTable::maybe_erase(std::map<std::string, Lock>::iterator it) {
  const Lock& l = it->second;
  if (l.holder || !l.waiters.empty()) return;
  if (l.owed) {
    note_idle_debt(it->first);
    return;
  }
  locks_.erase(it);
}

void LockTable::note_idle_debt(const std::string& name) {
  idle_debts_.push_back(name);
  while (idle_debts_.size() > kMaxIdleDebts) {
    auto it = locks_.find(idle_debts_.front());
    idle_debts_.pop_front();
    if (it == locks_.end() || it->second.holder || !it->second.waiters.empty() || !it->second.owed) continue;
    log::warn("locks: more than " + std::to_string(kMaxIdleDebts) + " locks are owed a run; forgetting the debt of " +
              it->first);
    locks_.erase(it);
  }
}

void LockTable::expire(const std::string& name, uint64_t waiter) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  auto& q = it->second.waiters;
  auto w = std::find_if(q.begin(), q.end(), [&](const Waiter& x) { return x.id == waiter; });
  if (w == q.end()) return;
  Pending out;
  const auto holder_pid = it->second.holder_pid;
  out.answers.emplace_back(drop_waiter(it, w, out), Answer{false, false, holder_pid, false});
  answer_all(out);
}

void LockTable::grant_next(std::map<std::string, Lock>::iterator it, Pending& out) {
  Lock& l = it->second;
  if (l.holder) {
    unindex(*l.holder, it->first);
    --held_;
  }
  l.holder.reset();
  l.holder_pid.reset();
  if (l.waiters.empty()) {
    maybe_erase(it);
    return;
  }
  Waiter w = std::move(l.waiters.front());
  l.waiters.pop_front();
  --waiting_;
  ++held_;  // w.conn stays indexed: it now holds the name
  l.holder = w.conn;
  l.holder_pid = w.pid;
  l.held_since = Clock::now();
  const bool owed = l.owed;
  l.owed = false;
  out.answers.emplace_back(std::move(w.done), Answer{true, false, w.pid, owed});
  // w.timer is destroyed here: its pending wait completes as cancelled.
}

bool LockTable::release(ConnId conn, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.holder != conn) return false;
  Pending out;
  grant_next(it, out);
  answer_all(out);
  return true;
}

bool LockTable::cancel_wait(ConnId conn, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return false;
  auto& q = it->second.waiters;
  auto w = std::find_if(q.begin(), q.end(), [&](const Waiter& x) { return x.conn == conn; });
  if (w == q.end()) return false;
  Pending out;
  drop_waiter(it, w, out);  // unanswered, as for a closed connection
  answer_all(out);
  return true;
}

void LockTable::connection_closed(ConnId conn) {
  auto c = by_conn_.find(conn);
  if (c == by_conn_.end()) return;
  const std::unordered_set<std::string> names = std::move(c->second);
  by_conn_.erase(c);
  Pending out;
  // Its waits first, so that none of its own waits is granted a lock it
  // releases below. Its waits are dropped unanswered: nobody reads them.
  for (const auto& name : names) {
    auto it = locks_.find(name);
    if (it == locks_.end()) continue;
    auto& q = it->second.waiters;
    auto w = std::find_if(q.begin(), q.end(), [&](const Waiter& x) { return x.conn == conn; });
    if (w != q.end()) drop_waiter(it, w, out);
  }
  for (const auto& name : names) {
    auto it = locks_.find(name);
    if (it != locks_.end() && it->second.holder == conn) grant_next(it, out);
  }
  answer_all(out);
}

void LockTable::shutdown() {
  stopping_ = true;
  Pending out;
  for (auto& [name, l] : locks_) {
    for (auto& w : l.waiters) {
      unindex(w.conn, name);
      out.answers.emplace_back(std::move(w.done), std::nullopt);
    }
    waiting_ -= l.waiters.size();
    l.waiters.clear();
  }
  answer_all(out);
}

void LockTable::set_holder_pid(ConnId conn, const std::string& name, std::optional<int64_t> pid) {
  auto it = locks_.find(name);
  if (it != locks_.end() && it->second.holder == conn) it->second.holder_pid = pid;
}

}  // namespace hs::daemon::locks
