// settings.dry_run: HarnessSync's persistent global dry-run flag.
#include "daemon/rpc/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
using store::StateStore;

void settings_dry_run(Context& ctx, Call&& c) {
  const json::value* enabled = c.params.if_contains("enabled");
  if (enabled == nullptr) {
    ctx.seq.read([reply = std::move(c.reply)](const StateStore& s) {
      reply(json::value(json::object{{"global_dry_run", s.dry_run()}}));
    }, c.cancel.owner());
    return;
  }
  ctx.seq.mutate(
      [on = enabled->get_bool()](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(const bool now, s.apply_dry_run(on));
        return json::value(json::object{{"global_dry_run", now}});
      },
      answer(std::move(c.reply)), sequencer::ChangeNote{"dry_run", std::nullopt, std::nullopt, {}}, c.cancel.owner());
}

}  // namespace hs::daemon::rpc
