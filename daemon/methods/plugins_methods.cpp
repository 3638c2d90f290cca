// plugins.*: HarnessSync's plugins section (STATE.md, "HarnessSync's other
// sections"): replaced whole, read back, and compared with the caller's.
#include "daemon/methods/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon {
namespace json = boost::json;
using store::StateStore;

namespace {

// A required {name: object} param. The store checks each value again (it
// is the one that must never hold anything else); this gives the same
// -32602 before the change joins the queue.
std::optional<proto::RpcError> read_plugin_map(const json::object& params, std::string_view field,
                                               json::object& out) {
  const json::value* v = params.if_contains(field);
  if (v == nullptr) return proto::RpcError::invalid_params(std::string(field), "missing");
  if (!v->is_object()) return proto::RpcError::invalid_params(std::string(field), "must be an object of {name: object}");
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_object()) {
      return proto::RpcError::invalid_params(std::string(field),
                                             "the value for \"" + std::string(kv.key()) + "\" must be an object");
    }
  }
  out = v->get_object();
  return std::nullopt;
}

}  // namespace

void plugins_record(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  auto account = p.opt_name("account");
  p.no_others({"plugins", "account"});
  if (!p.ok()) return c.reply(p.error());
  json::object plugins;
  if (auto err = read_plugin_map(c.params, "plugins", plugins)) return c.reply(std::move(*err));
  ctx.seq.mutate(
      [plugins = std::move(plugins), account = std::move(account)](StateStore& s) -> Result<json::value> {
        auto r = s.apply_plugins(plugins, account);
        if (!r) return std::move(r).error();
        return json::value(json::object{{"plugins", *r}});
      },
      std::move(c.reply));
}

void plugins_status(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  auto account = p.opt_name("account");
  p.no_others({"account"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.read([account = std::move(account), reply = std::move(c.reply)](const StateStore& s) {
    reply(json::value(s.plugins(account)));
  });
}

void plugins_drift(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  auto account = p.opt_name("account");
  p.no_others({"current", "account"});
  if (!p.ok()) return c.reply(p.error());
  json::object current;
  if (auto err = read_plugin_map(c.params, "current", current)) return c.reply(std::move(*err));
  ctx.seq.read([current = std::move(current), account = std::move(account),
                reply = std::move(c.reply)](const StateStore& s) {
    auto d = s.plugin_drift(current, account);
    if (!d) return reply(to_rpc_error(d.error()));
    reply(json::value(json::object{{"drift", std::move(*d)}}));
  });
}

}  // namespace hs::daemon
