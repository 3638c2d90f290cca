// Named locks owned by connections (docs/PROTOCOL.md, lock.*): one holder
// per name, waiters granted in the order they asked, each with its own
// deadline; `coalesce` callers share one follow-up wait.
//
// The table knows connections only by id and pid: the methods register
// connection_closed() in the connection's ConnResources, so a client that
// dies (SIGKILL included) releases its locks and leaves every queue at once.
// The daemon's own callers (triggers) are connections too, with ids from
// internal_conn(): the same queue, the same rules.
//
// Bounds (issue 17): a connection holds or waits for at most
// `max_per_conn` names; the table indexes each connection's names, so a
// close costs what that connection held, never a walk of the table; the
// held and waiting counts are kept as they change.
//
// Debts: a coalescing waiter that answered others "coalesced" and then
// leaves without running (timed out, closed, cancelled) leaves the lock
// `owed`; the next caller granted it is told so (and the debt is cleared),
// and on_owed listeners (triggers) hear of it at once.
//
// Reentrancy: an answer is a callback into a session, and writing it may
// close that session, which calls back into this table. So every operation
// first brings the table to a consistent state and only then answers, and
// never holds an iterator across an answer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace hs::daemon::locks {

class LockTable {
 public:
  using ConnId = uint64_t;
  using Clock = std::chrono::steady_clock;

  /// What lock.acquire answers (holder_pid: the holder after this call, the
  /// caller itself when acquired; nullopt when its pid is unknown). `owed`:
  /// granted with a debt (see above): the caller must run for those who were
  /// told they were covered.
  struct Answer {
    bool acquired = false;
    bool coalesced = false;
    std::optional<int64_t> holder_pid;
    bool owed = false;
  };
  /// A waiter's answer; nullopt when the daemon stops first (-32000).
  using Done = std::function<void(std::optional<Answer>)>;
  /// Told the name of a lock that just became owed.
  using OnOwed = std::function<void(const std::string& name)>;

  /// Why an acquire is refused outright: already_held and already_waiting
  /// are -32602; too_many is the per-connection limit (-32001).
  enum class Refusal { none, already_held, already_waiting, too_many };

  struct Waiter {
    uint64_t id = 0;
    ConnId conn = 0;
    std::optional<int64_t> pid;
    bool coalesce = false;
    bool covers_others = false;  // answered someone "coalesced" while it waits
    Clock::time_point since;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;  // null: no deadline
  };
  struct Lock {
    std::optional<ConnId> holder;  // none while being handed on, or only owed
    std::optional<int64_t> holder_pid;
    Clock::time_point held_since;
    // A list, not a deque: an empty deque already allocates (about 600
    // bytes), and most locks have no waiter.
    std::list<Waiter> waiters;
    bool owed = false;
  };

  /// A wait at least this long never times out (and never overflows the
  /// clock): about 31 years.
  static constexpr int64_t kUnboundedWaitMs = int64_t{1} << 40;
  static constexpr size_t kDefaultMaxPerConn = 1024;
  /// Debts on locks nobody holds or waits for are kept up to this many;
  /// past it the oldest is dropped, with a warning, so that callers who
  /// make debts in a loop cannot grow the table without bound.
  static constexpr size_t kMaxIdleDebts = 4096;
  /// Ids from here up are the daemon's own callers (internal_conn()).
  static constexpr ConnId kInternalBase = ConnId{1} << 62;

  explicit LockTable(boost::asio::io_context& io, size_t max_per_conn = kDefaultMaxPerConn)
      : io_(io), max_per_conn_(max_per_conn) {}
  LockTable(const LockTable&) = delete;
  LockTable& operator=(const LockTable&) = delete;

  /// Takes `name` for `conn` at once if it is free; else, with `wait_ms` > 0,
  /// queues the caller (coalescing callers: only while no other coalescing
  /// caller waits). `done` runs exactly once unless the call is refused or
  /// the connection closes (or cancels) first; it may run before acquire()
  /// returns.
  Refusal acquire(ConnId conn, std::optional<int64_t> pid, const std::string& name, int64_t wait_ms, bool coalesce,
                  Done done);
  /// Releases `name` if `conn` holds it, granting it to the next waiter;
  /// false if `conn` does not hold it.
  bool release(ConnId conn, const std::string& name);
  /// Takes `conn` out of `name`'s queue, unanswered (as if it had closed);
  /// false if it was not waiting there.
  bool cancel_wait(ConnId conn, const std::string& name);
  /// The connection ended: its waits are dropped unanswered and its locks
  /// released (each granted to its next waiter). Costs what it held.
  void connection_closed(ConnId conn);
  /// The daemon is stopping: every waiter is answered nullopt (-32000) and
  /// later acquires wait no more; holders keep their locks until their
  /// connections close.
  void shutdown();

  /// A fresh id for one of the daemon's own callers.
  ConnId internal_conn() { return kInternalBase + ++next_internal_; }
  /// Shows `pid` as the holder of `name` (a trigger's command, once it
  /// runs); nothing if `conn` does not hold it.
  void set_holder_pid(ConnId conn, const std::string& name, std::optional<int64_t> pid);
  /// Adds a listener for new debts; called after the table is consistent.
  void add_on_owed(OnOwed cb) { on_owed_.push_back(std::move(cb)); }

  size_t max_per_conn() const { return max_per_conn_; }
  size_t held() const { return held_; }
  size_t waiting() const { return waiting_; }
  /// Every lock with a holder, a waiter or a debt, by name.
  const std::map<std::string, Lock>& locks() const { return locks_; }

 private:
  struct Pending {
    std::vector<std::pair<Done, std::optional<Answer>>> answers;
    std::vector<std::string> owed;
  };
  void grant_next(std::map<std::string, Lock>::iterator it, Pending& out);
  /// Removes the waiter at `w` (not granted): unindexes it, and leaves a
  /// debt if it covered others. Returns its answer callback, not called.
  Done drop_waiter(std::map<std::string, Lock>::iterator it, std::list<Waiter>::iterator w, Pending& out);
  /// Erases the entry if nothing is left in it (holder, waiters, debt).
  void maybe_erase(std::map<std::string, Lock>::iterator it);
  void note_idle_debt(const std::string& name);
  void index(ConnId conn, const std::string& name);
  void unindex(ConnId conn, const std::string& name);
  void expire(const std::string& name, uint64_t waiter);
  void answer_all(Pending& out);

  boost::asio::io_context& io_;
  const size_t max_per_conn_;
  std::map<std::string, Lock> locks_;
  // Each connection's names, held or waited for.
  std::unordered_map<ConnId, std::unordered_set<std::string>> by_conn_;
  // Debts on otherwise empty entries, oldest first (may name entries that
  // have since been taken: checked when trimming).
  std::deque<std::string> idle_debts_;
  std::vector<OnOwed> on_owed_;
  size_t held_ = 0;
  size_t waiting_ = 0;
  uint64_t next_waiter_ = 0;
  uint64_t next_internal_ = 0;
  bool stopping_ = false;
};

}  // namespace hs::daemon::locks
