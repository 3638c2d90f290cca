#include "daemon/rpc/dispatcher.hpp"

#include "common/log.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/net/session.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
namespace {

using Respond = std::function<void(net::ResponseText)>;

proto::RpcError simple(int code, std::string message, json::value data = nullptr) {
  return proto::RpcError{code, std::move(message), std::move(data)};
}

net::ResponseText error_text(const json::value& id, const proto::RpcError& err) {
  net::ResponseText r;
  proto::append_error(r.head, id, err);
  return r;
}

// A result is written once, straight into its response text; a shared
// result is referenced, not copied.
net::ResponseText outcome_text(const json::value& id, Outcome& out) {
  net::ResponseText r;
  if (auto* v = std::get_if<json::value>(&out)) {
    proto::append_result(r.head, id, *v);
  } else if (auto* text = std::get_if<JsonText>(&out)) {
    proto::append_result_head(r.head, id);
    r.shared = std::move(*text);
    r.tail = "}";
  } else {
    proto::append_error(r.head, id, std::get<proto::RpcError>(out));
  }
  return r;
}

// Handles one request; returns whether it owes a response (now or later).
// A notification's work holds `ticket` until it is done, as a request's
// answer does: a client that pipelines notifications is paused like any
// other (PROTOCOL.md, "Limits").
bool handle_one(Context& ctx, const std::shared_ptr<net::Session>& session, const json::value& msg,
                const Respond& respond, const std::shared_ptr<void>& ticket) {
  auto parsed = proto::to_request(msg);
  if (auto* bad = std::get_if<proto::Invalid>(&parsed)) {
    if (!bad->silent) respond(error_text(bad->id, bad->error));
    return !bad->silent;
  }
  auto& req = std::get<proto::Request>(parsed);
  const bool notification = req.is_notification();
  if (ctx.stopping) {
    if (!notification) respond(error_text(*req.id, simple(proto::code::shutting_down, "Server shutting down")));
    return !notification;
  }
  const MethodSpec* spec = find_method(req.method);
  if (spec == nullptr) {
    if (!notification) {
      respond(error_text(*req.id, simple(proto::code::method_not_found, "Method not found: " + req.method,
                                         json::object{{"method", req.method}})));
    }
    return !notification;
  }
  Reply reply;
  if (notification) {
    reply = [ticket](Outcome) {};
  } else {
    reply = [id = *req.id, respond](Outcome out) { respond(outcome_text(id, out)); };
  }
  try {
    call_method(*spec, ctx, Call{std::move(req.params), session->cancel_token(), std::move(reply), session});
  } catch (const std::exception& e) {
    // A handler bug must cost one request, not the daemon.
    log::error(std::string("method ") + req.method + " threw: " + e.what());
    if (!notification) respond(error_text(*req.id, simple(proto::code::internal_error, "Internal error")));
  }
  return !notification;
}

// A batch in progress: its answers go to the session as they complete (in
// any order); the session streams them as one array.
struct BatchReplies {
  std::shared_ptr<net::Session> session;
  std::shared_ptr<void> ticket;  // released once the batch is answered
  uint64_t batch = 0;
  size_t outstanding = 1;  // one for the dispatch loop itself
  void done_one() {
    if (--outstanding != 0) return;
    session->batch_end(batch);
    ticket.reset();
  }
};

}  // namespace

void dispatch(Context& ctx, const std::shared_ptr<net::Session>& session, proto::Framing framing, json::value msg,
              std::shared_ptr<void> ticket) {
  auto send = [session, framing, ticket](net::ResponseText r) { session->send(std::move(r), framing); };
  if (!msg.is_array()) {
    handle_one(ctx, session, msg, send, ticket);
    return;
  }
  const json::array& batch = msg.get_array();
  if (batch.empty()) {
    send(error_text(nullptr, simple(proto::code::invalid_request, "Invalid Request: empty batch")));
    return;
  }
  const size_t limit = ctx.limits.max_batch;
  if (batch.size() > limit) {
    send(error_text(nullptr, simple(proto::code::invalid_request,
                                    "Invalid Request: batch of " + std::to_string(batch.size()) +
                                        " requests, the limit is " + std::to_string(limit),
                                    json::object{{"limit", limit}})));
    return;
  }
  auto replies = std::make_shared<BatchReplies>();
  replies->session = session;
  replies->ticket = ticket;
  replies->batch = session->batch_begin(framing);
  for (const auto& element : batch) {
    // Count the reply before the call: it may arrive synchronously inside it.
    ++replies->outstanding;
    bool owed = handle_one(ctx, session, element, [replies](net::ResponseText r) {
      replies->session->batch_add(replies->batch, std::move(r));
      replies->done_one();
    }, ticket);
    if (!owed) --replies->outstanding;  // a notification: never answered
  }
  ticket.reset();  // the batch's answers and its notifications' work hold it now
  replies->done_one();
}

}  // namespace hs::daemon::rpc
