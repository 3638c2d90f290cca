#include "client/src/client_impl.hpp"

#include <boost/json/serialize.hpp>
#include <array>

#include "client/src/errors.hpp"
#include "common/result.hpp"
#include "proto/jsonrpc.hpp"

namespace harnesssync {
namespace json = boost::json;
namespace proto = hs::proto;
using detail::protocol_error;

namespace detail {

bool reads_only(std::string_view method) {
  // Methods that change nothing the daemon keeps for anyone: not the state,
  // not a lock, not a subscription (which would deliver another daemon's
  // notifications). settings.dry_run is left out: it also sets.
  static constexpr std::array<std::string_view, 13> kReadOnly = {
      "daemon.info",   "daemon.ping", "rpc.discover",   "state.drift",   "state.target",
      "state.all",     "state.account", "state.accounts", "hash.files",  "lock.list",
      "plugins.status", "plugins.drift", "health.history"};
  for (std::string_view m : kReadOnly) {
    if (m == method) return true;
  }
  return false;
}

}  // namespace detail

namespace {

// The result or error of one answer (an object with an id).
Result<json::value> answer_of(const json::object& o) {
  if (const json::value* err = o.if_contains("error"); err != nullptr && err->is_object()) {
    Error e;
    e.kind = Error::Kind::rpc;
    const auto& eo = err->get_object();
    if (const auto* c = eo.if_contains("code"); c != nullptr && c->is_int64()) e.code = static_cast<int>(c->get_int64());
    if (const auto* m = eo.if_contains("message"); m != nullptr && m->is_string()) e.message = m->get_string();
    if (const auto* d = eo.if_contains("data")) e.data = *d;
    return e;
  }
  if (const json::value* result = o.if_contains("result")) return *result;
  return protocol_error("harnesssyncd sent an answer with neither result nor error");
}

}  // namespace

int64_t Client::Impl::queue(std::string_view method, json::object params) {
  const int64_t id = next_id++;
  json::object req;
  req["jsonrpc"] = "2.0";
  req["id"] = id;
  req["method"] = method;
  if (!params.empty()) req["params"] = std::move(params);
  outbox += proto::encode_frame(proto::Framing::ndjson, json::serialize(req));
  return id;
}

Result<Done> Client::Impl::flush(detail::Deadline deadline) {
  if (outbox.empty()) return Done{};
  auto sent = conn.send(outbox, deadline);
  outbox.clear();
  return sent;
}

Result<int64_t> Client::Impl::send(std::string_view method, json::object params, detail::Deadline deadline) {
  const int64_t id = queue(method, std::move(params));
  auto sent = flush(deadline);
  if (!sent) {
    // A daemon at its connection limit writes why (an error with id null)
    // and closes, often before our request arrives: the send fails, but
    // the line is still there to read.
    auto frame = conn.try_read_frame(std::chrono::steady_clock::now());
    if (frame && *frame && (*frame)->ok() && (*frame)->value.is_object()) {
      const json::object& o = (*frame)->value.get_object();
      const json::value* rid = o.if_contains("id");
      if (rid != nullptr && rid->is_null() && o.contains("error")) return answer_of(o).error();
    }
    return sent.error();
  }
  return id;
}

Result<json::value> Client::Impl::await(int64_t id, detail::Deadline deadline) {
  for (;;) {
    HS_TRY_ASSIGN(proto::Frame frame, conn.read_frame(deadline));
    if (!frame.ok() || !frame.value.is_object()) return protocol_error("harnesssyncd sent an answer that is not a JSON object");
    const json::object& o = frame.value.get_object();
    const json::value* rid = o.if_contains("id");
    if (rid == nullptr) {
      deliver(frame.value);
      continue;
    }
    if (rid->is_int64() && info_id && rid->get_int64() == *info_id && id != *info_id) {
      info_answer = answer_of(o);
      continue;
    }
    // An error about a message the daemon could not read (id null) is ours.
    if ((rid->is_int64() && rid->get_int64() == id) || rid->is_null()) return answer_of(o);
  }
}

void Client::Impl::deliver(const json::value& msg) {
  if (!msg.is_object()) return;
  const auto& o = msg.get_object();
  if (o.contains("id") || !on_notification) return;
  const json::value* m = o.if_contains("method");
  const json::value* p = o.if_contains("params");
  if (m == nullptr || !m->is_string()) return;
  static const json::object kEmpty;
  in_handler = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_handler};
  on_notification(m->get_string(), p != nullptr && p->is_object() ? p->get_object() : kEmpty);
}

void Client::Impl::queue_check() { info_id = queue("daemon.info", {}); }

Result<Done> Client::Impl::settle_check() {
  if (broken) return *broken;
  if (!info_id) return Done{};
  if (!info_answer) {
    const auto deadline = detail::deadline_after(timeout);
    auto sent = flush(deadline);
    info_answer = sent ? await(*info_id, deadline) : Result<json::value>(sent.error());
  }
  // Settled before the checks run, whatever they do.
  const Result<json::value> answer = std::move(*info_answer);
  info_id.reset();
  info_answer.reset();
  auto checked = check_info(answer);
  if (!checked) broken = checked.error();
  return checked;
}

Result<Done> Client::Impl::check_info(const Result<json::value>& answer) {
  if (!answer) return answer.error();
  if (!answer->is_object()) return protocol_error("daemon.info: the answer is not an object");
  const json::object& info = answer->get_object();
  if (check_dir) HS_TRY(check_daemon_serves(info, socket_path, *check_dir));
  if (on_info) HS_TRY(on_info(info));
  return Done{};
}

Result<json::value> Client::Impl::call(std::string_view method, json::object params, detail::Deadline deadline) {
  if (in_handler) {
    // Reading our answer from inside the handler would deliver the next
    // notifications from inside it too, and interleave with the read the
    // handler was called from.
    return detail::usage_error(std::string(method) + ": called from the notification handler; call after it returns");
  }
  if (broken) return *broken;
  // Never let a call that changes something reach a daemon not yet checked.
  if (info_id && !detail::reads_only(method)) HS_TRY(settle_check());
  HS_TRY_ASSIGN(const int64_t id, send(method, std::move(params), deadline));
  auto answer = await(id, deadline);
  // A read-only call went out with the check: its answer counts only once
  // the check passed.
  if (info_id) HS_TRY(settle_check());
  return answer;
}

Result<int> Client::Impl::poll(std::chrono::milliseconds wait) {
  if (in_handler) return detail::usage_error("poll_notifications: called from the notification handler");
  HS_TRY(settle_check());
  int n = 0;
  auto deadline = detail::deadline_after(wait);
  for (;;) {
    // Once something was delivered, only what is already here: the caller
    // acts on a batch without waiting out the whole window.
    HS_TRY_ASSIGN(auto frame, conn.try_read_frame(n > 0 ? std::chrono::steady_clock::now() : deadline));
    if (!frame) return n;
    if (!frame->ok()) return protocol_error("harnesssyncd sent a notification that is not JSON");
    deliver(frame->value);
    ++n;
  }
}

}  // namespace harnesssync
