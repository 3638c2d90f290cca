// Typed wrappers: lock.acquire, lock.release, lock.list.
#include "client/src/client_impl.hpp"
#include "client/src/errors.hpp"
#include "client/src/json_read.hpp"
#include "common/result.hpp"

namespace harnesssync {
namespace json = boost::json;
using detail::member;
using detail::protocol_error;

Result<LockResult> Client::lock_acquire(const std::string& name, int64_t wait_ms, bool coalesce) {
  json::object p{{"name", name}, {"wait_ms", wait_ms}};
  if (coalesce) p["coalesce"] = true;
  // The answer comes when the wait ends: allow for it on top of the timeout.
  // An unbounded wait has no deadline (adding it would overflow the clock).
  auto deadline = wait_ms >= kWaitForever ? detail::Deadline::max()
                                          : detail::deadline_after(impl_->timeout + std::chrono::milliseconds(wait_ms));
  HS_TRY_ASSIGN(const json::object o,
                detail::object_result(impl_->call("lock.acquire", std::move(p), deadline), "lock.acquire"));
  const auto* a = member(o, "acquired", json::kind::bool_);
  if (a == nullptr) return protocol_error("lock.acquire: no \"acquired\"");
  LockResult l;
  l.acquired = a->get_bool();
  if (const auto* c = member(o, "coalesced", json::kind::bool_)) l.coalesced = c->get_bool();
  if (const auto* h = member(o, "holder_pid", json::kind::int64)) l.holder_pid = h->get_int64();
  if (const auto* w = member(o, "owed", json::kind::bool_)) l.owed = w->get_bool();
  return l;
}

Result<Done> Client::lock_release(const std::string& name) {
  return detail::done_result(call("lock.release", json::object{{"name", name}}));
}

Result<std::vector<LockInfo>> Client::lock_list() {
  HS_TRY_ASSIGN(const json::value r, call("lock.list"));
  if (!r.is_array()) return protocol_error("lock.list: the answer is not an array");
  std::vector<LockInfo> out;
  for (const auto& e : r.get_array()) {
    const json::object* o = e.if_object();
    const json::value* name = o != nullptr ? member(*o, "name", json::kind::string) : nullptr;
    if (name == nullptr) return protocol_error("lock.list: an entry without a name");
    LockInfo info;
    info.name = name->get_string();
    if (const auto* h = member(*o, "holder_pid", json::kind::int64)) info.holder_pid = h->get_int64();
    if (const auto* h = member(*o, "held_ms", json::kind::int64)) info.held_ms = h->get_int64();
    if (const auto* w = o->if_contains("waiting"); w != nullptr && w->is_number()) info.waiting = w->to_number<int64_t>();
    if (const auto* d = member(*o, "owed", json::kind::bool_)) info.owed = d->get_bool();
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace harnesssync
