// trigger.*: the daemon runs a command when watched files change
// (docs/PROTOCOL.md, "Triggers"). The triggers themselves are
// daemon/triggers/service.hpp; params are checked by the table's rows,
// and trigger.set's again in full (the rules across fields, the command on
// PATH) before anything is saved.
#include "daemon/rpc/errors.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/rpc/outcome.hpp"
#include "daemon/triggers/service.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
namespace {

triggers::Service* service(Context& ctx, const Call& c) {
  if (ctx.triggers == nullptr) {
    c.reply(proto::RpcError{proto::code::internal_error, "Triggers are not served here", nullptr});
  }
  return ctx.triggers;
}

proto::RpcError unknown_trigger(const std::string& name) {
  return proto::RpcError::invalid_params("name", "no trigger named " + name);
}

}  // namespace

void trigger_set(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  t->set(std::move(c.params), answer(c.reply));
}

void trigger_remove(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  const std::string name = proto::Args(c.params).str("name");
  if (!t->has(name)) {
    return c.reply(proto::RpcError{proto::code::no_such_trigger, "No trigger named " + name, json::object{{"name", name}}});
  }
  t->remove(name, answer(c.reply));
}

void trigger_list(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  c.reply(json::value(t->list()));
}

void trigger_run(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  const std::string name = proto::Args(c.params).str("name");
  if (!t->has(name)) return c.reply(unknown_trigger(name));
  c.reply(t->run(name));
}

void trigger_log(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  proto::Args a(c.params);
  const std::string name = a.str("name");
  if (!t->has(name)) return c.reply(unknown_trigger(name));
  const int64_t runs = a.has("runs") ? a.count("runs") : 10;
  c.reply(t->log(name, static_cast<size_t>(runs)));
}

void trigger_pause(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  auto name = proto::Args(c.params).opt_str("name");
  if (name && !t->has(*name)) return c.reply(unknown_trigger(*name));
  t->pause(std::move(name), answer(c.reply));
}

void trigger_resume(Context& ctx, Call&& c) {
  auto* t = service(ctx, c);
  if (t == nullptr) return;
  auto name = proto::Args(c.params).opt_str("name");
  if (name && !t->has(*name)) return c.reply(unknown_trigger(*name));
  t->resume(std::move(name), answer(c.reply));
}

}  // namespace hs::daemon::rpc
