// Named locks owned by connections (docs/PROTOCOL.md, lock.*): one holder
// per name, waiters granted in the order they asked, each with its own
// deadline; `coalesce` callers share one follow-up wait.
//
// The table knows connections only by id and pid: the methods register
// connection_closed() in the connection's ConnResources, so a client that
// dies (SIGKILL included) releases its locks and leaves every queue at once.
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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hs::daemon::locks {

class LockTable {
 public:
  using ConnId = uint64_t;
  using Clock = std::chrono::steady_clock;

  /// What lock.acquire answers (holder_pid: the holder after this call, the
  /// caller itself when acquired; nullopt when its pid is unknown).
  struct Answer {
    bool acquired = false;
    bool coalesced = false;
    std::optional<int64_t> holder_pid;
  };
  /// A waiter's answer; nullopt when the daemon stops first (-32000).
  using Done = std::function<void(std::optional<Answer>)>;

  /// Why an acquire is refused outright (-32602).
  enum class Refusal { none, already_held, already_waiting };

  struct Waiter {
    uint64_t id = 0;
    ConnId conn = 0;
    std::optional<int64_t> pid;
    bool coalesce = false;
    Clock::time_point since;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;  // null: no deadline
  };
  struct Lock {
    std::optional<ConnId> holder;  // none only while being handed on
    std::optional<int64_t> holder_pid;
    Clock::time_point held_since;
    std::deque<Waiter> waiters;
  };

  /// A wait at least this long never times out (and never overflows the
  /// clock): about 31 years.
  static constexpr int64_t kUnboundedWaitMs = int64_t{1} << 40;

  explicit LockTable(boost::asio::io_context& io) : io_(io) {}
  LockTable(const LockTable&) = delete;
  LockTable& operator=(const LockTable&) = delete;

  /// Takes `name` for `conn` at once if it is free; else, with `wait_ms` > 0,
  /// queues the caller (coalescing callers: only while no other coalescing
  /// caller waits). `done` runs exactly once unless the call is refused or
  /// the connection closes first; it may run before acquire() returns.
  Refusal acquire(ConnId conn, std::optional<int64_t> pid, const std::string& name, int64_t wait_ms, bool coalesce,
                  Done done);
  /// Releases `name` if `conn` holds it, granting it to the next waiter;
  /// false if `conn` does not hold it.
  bool release(ConnId conn, const std::string& name);
  /// The connection ended: its waits are dropped unanswered and its locks
  /// released (each granted to its next waiter).
  void connection_closed(ConnId conn);
  /// The daemon is stopping: every waiter is answered nullopt (-32000) and
  /// later acquires wait no more; holders keep their locks until their
  /// connections close.
  void shutdown();

  size_t held() const;
  size_t waiting() const;
  /// Every lock with a holder or a waiter, by name.
  const std::map<std::string, Lock>& locks() const { return locks_; }

 private:
  using Pending = std::vector<std::pair<Done, std::optional<Answer>>>;
  void grant_next(const std::string& name, Lock& lock, Pending& out);
  void expire(const std::string& name, uint64_t waiter);
  static void answer_all(Pending& out);

  boost::asio::io_context& io_;
  std::map<std::string, Lock> locks_;
  uint64_t next_waiter_ = 0;
  bool stopping_ = false;
};

}  // namespace hs::daemon::locks
