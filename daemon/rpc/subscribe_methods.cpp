// state.subscribe, state.unsubscribe: live drift (docs/PROTOCOL.md,
// "Notifications"). The registry is daemon/live/subscriptions.hpp; a
// subscription belongs to its connection and ends with it.
#include "daemon/live/subscriptions.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/net/session.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;

void state_subscribe(Context& ctx, Call&& c) {
  auto session = c.session.lock();
  if (ctx.subs == nullptr) return c.reply(proto::RpcError{proto::code::internal_error, "Subscriptions are not served here", nullptr});
  // Nobody left to notify: closed, or hung up with messages still being read.
  if (!session || session->closed() || session->resources().released()) return;
  proto::Args p(c.params);
  std::optional<std::vector<std::string>> targets;
  if (p.has("targets")) {
    targets = p.paths("targets");  // checked as names by the spec
    if (targets->empty()) {
      return c.reply(proto::RpcError::invalid_params("targets", "must not be empty (leave it out for all targets)"));
    }
  }
  const json::value& triggers = p.raw("triggers");
  auto id = ctx.subs->add(session, p.opt_str("account"), std::move(targets), triggers.is_bool() && triggers.get_bool());
  if (!id) {
    return c.reply(proto::RpcError::invalid_params(
        "targets", "this connection has " + std::to_string(live::Subscriptions::kMaxPerConnection) +
                       " subscriptions already (the limit); unsubscribe one first"));
  }
  c.reply(json::value(json::object{{"subscription", *id}}));
  // After the answer: the first state.drifted of each tracked target.
  ctx.subs->start_initial(*id);
}

void state_unsubscribe(Context& ctx, Call&& c) {
  auto session = c.session.lock();
  if (ctx.subs == nullptr) return c.reply(proto::RpcError{proto::code::internal_error, "Subscriptions are not served here", nullptr});
  if (!session) return;
  const int64_t id = proto::Args(c.params).count("subscription");
  if (!ctx.subs->remove(session->id(), static_cast<uint64_t>(id))) {
    return c.reply(
        proto::RpcError::invalid_params("subscription", "no subscription " + std::to_string(id) + " on this connection"));
  }
  c.reply(json::value(true));
}

}  // namespace hs::daemon::rpc
