#include "daemon/dispatcher.hpp"

#include <boost/json/parse.hpp>

#include "common/log.hpp"
#include "daemon/methods/method_table.hpp"
#include "daemon/session.hpp"

namespace hs::daemon {
namespace json = boost::json;
namespace {

using Respond = std::function<void(json::object)>;

proto::RpcError simple(int code, std::string message, json::value data = nullptr) {
  return proto::RpcError{code, std::move(message), std::move(data)};
}

// Handles one request; returns whether it owes a response (now or later).
bool handle_one(Context& ctx, const std::shared_ptr<Session>& session, const json::value& msg,
                const Respond& respond) {
  auto parsed = proto::to_request(msg);
  if (auto* bad = std::get_if<proto::Invalid>(&parsed)) {
    if (!bad->silent) respond(proto::make_error(bad->id, bad->error));
    return !bad->silent;
  }
  auto& req = std::get<proto::Request>(parsed);
  const bool notification = req.is_notification();
  if (ctx.stopping) {
    if (!notification) respond(proto::make_error(*req.id, simple(proto::code::shutting_down, "Server shutting down")));
    return !notification;
  }
  const MethodSpec* spec = find_method(req.method);
  if (spec == nullptr) {
    if (!notification) {
      respond(proto::make_error(*req.id, simple(proto::code::method_not_found, "Method not found: " + req.method,
                                                json::object{{"method", req.method}})));
    }
    return !notification;
  }
  Reply reply;
  if (notification) {
    reply = [](Outcome) {};
  } else {
    reply = [id = *req.id, respond](Outcome out) {
      if (auto* v = std::get_if<json::value>(&out)) {
        respond(proto::make_result(id, std::move(*v)));
      } else if (auto* text = std::get_if<JsonText>(&out)) {
        // TODO(session): send shared text without parsing it back.
        respond(proto::make_result(id, json::parse(**text)));
      } else {
        respond(proto::make_error(id, std::get<proto::RpcError>(out)));
      }
    };
  }
  try {
    call_method(*spec, ctx, Call{std::move(req.params), session->cancel_token(), std::move(reply)});
  } catch (const std::exception& e) {
    // A handler bug must cost one request, not the daemon.
    log::error(std::string("method ") + req.method + " threw: " + e.what());
    if (!notification) {
      respond(proto::make_error(*req.id, simple(proto::code::internal_error, "Internal error")));
    }
  }
  return !notification;
}

// Collects a batch's responses and sends them as one array when the last
// one is in (they may complete in any order, some only after a write).
struct BatchReplies {
  std::shared_ptr<Session> session;
  std::shared_ptr<void> ticket;  // released with the batch's answer
  proto::Framing framing;
  json::array responses;
  size_t outstanding = 1;  // one for the dispatch loop itself
  void done_one() {
    if (--outstanding != 0) return;
    if (!responses.empty()) session->send(std::move(responses), framing);
    ticket.reset();
  }
};

}  // namespace

void dispatch(Context& ctx, const std::shared_ptr<Session>& session, proto::Frame frame,
              std::shared_ptr<void> ticket) {
  const proto::Framing framing = frame.framing;
  json::parse_options opts;
  opts.max_depth = 64;
  boost::system::error_code ec;
  json::value msg = json::parse(frame.body, ec, {}, opts);
  if (ec) {
    session->send(proto::make_error(nullptr, simple(proto::code::parse_error, "Parse error: " + ec.message())),
                  framing);
    return;
  }
  auto send = [session, framing, ticket](json::object r) { session->send(r, framing); };
  if (!msg.is_array()) {
    handle_one(ctx, session, msg, send);
    return;
  }
  const json::array& batch = msg.get_array();
  if (batch.empty()) {
    send(proto::make_error(nullptr, simple(proto::code::invalid_request, "Invalid Request: empty batch")));
    return;
  }
  const size_t limit = ctx.opts.limits.max_batch;
  if (batch.size() > limit) {
    send(proto::make_error(nullptr, simple(proto::code::invalid_request,
                                           "Invalid Request: batch of " + std::to_string(batch.size()) +
                                               " requests, the limit is " + std::to_string(limit),
                                           json::object{{"limit", limit}})));
    return;
  }
  auto replies = std::make_shared<BatchReplies>();
  replies->session = session;
  replies->ticket = std::move(ticket);
  replies->framing = framing;
  for (const auto& element : batch) {
    // Count the reply before the call: it may arrive synchronously inside it.
    ++replies->outstanding;
    bool owed = handle_one(ctx, session, element, [replies](json::object r) {
      replies->responses.push_back(std::move(r));
      replies->done_one();
    });
    if (!owed) --replies->outstanding;  // a notification: never answered
  }
  replies->done_one();
}

}  // namespace hs::daemon
