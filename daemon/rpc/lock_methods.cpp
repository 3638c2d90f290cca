// lock.*: named locks owned by the calling connection (daemon/locks/
// lock_table.hpp). The connection's ConnResources holds one entry, "locks",
// whose release tells the table the connection is gone: however it ends,
// its locks are released and its waits leave their queues.
#include <boost/json/array.hpp>

#include "daemon/rpc/errors.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/net/session.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
namespace {

constexpr const char* kResourceKey = "locks";

json::value pid_value(const std::optional<int64_t>& pid) {
  if (pid) return json::value(*pid);
  return nullptr;
}

int64_t ms_since(locks::LockTable::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(locks::LockTable::Clock::now() - t).count();
}

}  // namespace

void lock_acquire(Context& ctx, Call&& c) {
  proto::Args a(c.params);
  const std::string name = a.str("name");
  const int64_t wait_ms = a.count("wait_ms");
  const json::value& co = a.raw("coalesce");
  const bool coalesce = co.is_bool() && co.get_bool();
  auto session = c.session.lock();
  if (!session) return c.reply(shutting_down());  // the connection is gone; nobody reads this
  net::Session& s = *session;
  // Registered before the lock can be granted: a connection that already
  // closed (hold refused) must not be handed a lock nobody would release.
  if (!s.resources().holds(kResourceKey) &&
      !s.resources().hold(kResourceKey, [&locks = ctx.locks, id = s.id()] { locks.connection_closed(id); })) {
    return c.reply(shutting_down());  // the connection is gone; nobody reads this
  }
  std::optional<int64_t> pid;
  if (s.peer_pid() > 0) pid = s.peer_pid();
  auto refused = ctx.locks.acquire(s.id(), pid, name, wait_ms, coalesce,
                                   [reply = c.reply](std::optional<locks::LockTable::Answer> ans) {
                                     if (!ans) return reply(shutting_down());
                                     reply(json::object{{"acquired", ans->acquired},
                                                        {"coalesced", ans->coalesced},
                                                        {"holder_pid", pid_value(ans->holder_pid)},
                                                        {"owed", ans->owed}});
                                   });
  if (refused == locks::LockTable::Refusal::already_held) {
    c.reply(proto::RpcError::invalid_params("name", "this connection already holds lock \"" + name + "\""));
  } else if (refused == locks::LockTable::Refusal::already_waiting) {
    c.reply(proto::RpcError::invalid_params("name", "this connection is already waiting for lock \"" + name + "\""));
  } else if (refused == locks::LockTable::Refusal::too_many) {
    const auto limit = ctx.locks.max_per_conn();
    c.reply(proto::RpcError{proto::code::over_limit,
                            "Too many locks: a connection may hold or wait for at most " + std::to_string(limit) +
                                " lock names (--max-locks)",
                            json::object{{"limit", limit}}});
  }
}

void lock_release(Context& ctx, Call&& c) {
  proto::Args a(c.params);
  const std::string name = a.str("name");
  auto session = c.session.lock();
  if (session && ctx.locks.release(session->id(), name)) return c.reply(json::value(true));
  c.reply(proto::RpcError{proto::code::lock_not_held, "Lock not held by this connection: " + name,
                          json::object{{"name", name}}});
}

void lock_list(Context& ctx, Call&& c) {
  json::array out;
  for (const auto& [name, l] : ctx.locks.locks()) {
    json::array waiters;
    for (const auto& w : l.waiters) {
      waiters.push_back(json::object{{"pid", pid_value(w.pid)}, {"waited_ms", ms_since(w.since)}, {"coalesce", w.coalesce}});
    }
    out.push_back(json::object{
        {"name", name},
        {"holder_pid", pid_value(l.holder_pid)},
        {"held_ms", l.holder ? ms_since(l.held_since) : 0},
        {"waiting", l.waiters.size()},
        {"waiters", std::move(waiters)},
        {"owed", l.owed},
    });
  }
  c.reply(std::move(out));
}

}  // namespace hs::daemon::rpc
