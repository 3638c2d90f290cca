// plugins.*: HarnessSync's plugins section (STATE.md, "HarnessSync's other
// sections"): replaced whole, read back, and compared with the caller's.
#include "daemon/rpc/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
using store::StateStore;


void plugins_record(Context& ctx, Call&& c) {
  proto::Args p(c.params);
  auto account = p.opt_str("account");
  json::object plugins = p.raw("plugins").get_object();
  sequencer::ChangeNote note{"plugins", std::nullopt, account, {}};
  ctx.seq.mutate(
      [plugins = std::move(plugins), account = std::move(account)](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(const size_t count, s.apply_plugins(plugins, account));
        return json::value(json::object{{"plugins", count}});
      },
      answer(std::move(c.reply)), std::move(note), c.cancel.owner());
}

void plugins_status(Context& ctx, Call&& c) {
  auto account = proto::Args(c.params).opt_str("account");
  ctx.seq.read([account = std::move(account), reply = std::move(c.reply)](const StateStore& s) {
    reply(json::value(s.plugins(account)));
  }, c.cancel.owner());
}

void plugins_drift(Context& ctx, Call&& c) {
  proto::Args p(c.params);
  auto account = p.opt_str("account");
  json::object current = p.raw("current").get_object();
  ctx.seq.read([current = std::move(current), account = std::move(account),
                reply = std::move(c.reply)](const StateStore& s) {
    auto d = s.plugin_drift(current, account);
    if (!d) return reply(to_rpc_error(d.error()));
    reply(json::value(json::object{{"drift", std::move(*d)}}));
  }, c.cancel.owner());
}

}  // namespace hs::daemon::rpc
