// health.*: HarnessSync's health-score history (STATE.md, "HarnessSync's
// other sections"): appended per target, the last 90 kept.
#include "daemon/rpc/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
using store::StateStore;

namespace {
constexpr int64_t kDefaultHistory = 30;  // HarnessSync's get_score_history(n=30)
}  // namespace

void health_record(Context& ctx, Call&& c) {
  proto::Args p(c.params);
  store::HealthArgs a;
  a.target = p.str("target");
  a.label = p.opt_str("label").value_or("");
  // A JSON number, int or float, kept as it is (clamped by the store).
  a.score = p.raw("score");
  sequencer::ChangeNote note{"health", a.target, std::nullopt, {}};
  ctx.seq.mutate(
      [a = std::move(a)](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(json::object entry, s.apply_health(a));
        return json::value(std::move(entry));
      },
      answer(std::move(c.reply)), std::move(note), c.cancel.owner());
}

void health_history(Context& ctx, Call&& c) {
  proto::Args p(c.params);
  std::string target = p.str("target");
  int64_t n = p.has("n") ? p.count("n") : kDefaultHistory;
  ctx.seq.read([target = std::move(target), n, reply = std::move(c.reply)](const StateStore& s) {
    auto h = s.health_history(target, n);
    if (!h) return reply(to_rpc_error(h.error()));
    reply(json::value(std::move(*h)));
  }, c.cancel.owner());
}

}  // namespace hs::daemon::rpc
