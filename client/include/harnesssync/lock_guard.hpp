// harnesssync client library: a daemon lock held for a scope. Included by
// harnesssync/client.hpp (include that one).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <harnesssync/result.hpp>
#include <harnesssync/types.hpp>

namespace harnesssync {

class Client;

/// A named lock held for a scope: acquired by acquire(), released when the
/// guard is destroyed (or by release()). The lock belongs to the Client's
/// connection, so it is also released if the process dies. The Client must
/// outlive the guard.
///
///   auto g = harnesssync::LockGuard::acquire(client, "sync", 30000);
///   if (!g) return g.error();       // the daemon failed or was unreachable
///   if (!g->acquired()) return busy(g->result().holder_pid);
///   run_sync();                      // released at the end of the scope
class LockGuard {
 public:
  /// Asks for the lock (Client::lock_acquire). A busy lock is not an error:
  /// the guard then holds nothing (acquired() false).
  static Result<LockGuard> acquire(Client& client, std::string name, int64_t wait_ms = 0, bool coalesce = false);

  LockGuard(LockGuard&& o) noexcept;
  LockGuard& operator=(LockGuard&& o) noexcept;
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  /// Releases the lock if held; a failure is ignored (the connection's end
  /// releases it anyway).
  ~LockGuard();

  bool acquired() const { return held_; }
  explicit operator bool() const { return held_; }
  const LockResult& result() const { return result_; }
  const std::string& name() const { return name_; }
  /// Releases now (idempotent: Done when nothing is held).
  Result<Done> release();

 private:
  LockGuard(Client& c, std::string name, LockResult r) : client_(&c), name_(std::move(name)), result_(r), held_(r.acquired) {}
  Client* client_;
  std::string name_;
  LockResult result_;
  bool held_ = false;
};

}  // namespace harnesssync
