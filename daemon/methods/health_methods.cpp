// health.*: HarnessSync's health-score history (STATE.md, "HarnessSync's
// other sections"): appended per target, the last 90 kept.
#include "daemon/methods/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon {
namespace json = boost::json;
using store::StateStore;

namespace {
constexpr int64_t kDefaultHistory = 30;  // HarnessSync's get_score_history(n=30)
}  // namespace

void health_record(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  store::HealthArgs a;
  a.target = p.name("target");
  a.label = p.opt_str("label").value_or("");
  p.no_others({"target", "score", "label"});
  if (!p.ok()) return c.reply(p.error());
  // A JSON number, int or float, kept as it is (clamped by the store);
  // true and false are not scores.
  const json::value* score = c.params.if_contains("score");
  if (score == nullptr) return c.reply(proto::RpcError::invalid_params("score", "missing"));
  if (!score->is_number()) return c.reply(proto::RpcError::invalid_params("score", "must be a number"));
  a.score = *score;
  ctx.seq.mutate(
      [a = std::move(a)](StateStore& s) -> Result<json::value> {
        auto r = s.apply_health(a);
        if (!r) return std::move(r).error();
        return json::value(std::move(*r));
      },
      std::move(c.reply));
}

void health_history(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  std::string target = p.name("target");
  int64_t n = p.opt_int("n", 1, 90).value_or(kDefaultHistory);
  p.no_others({"target", "n"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.read([target = std::move(target), n, reply = std::move(c.reply)](const StateStore& s) {
    auto h = s.health_history(target, n);
    if (!h) return reply(to_rpc_error(h.error()));
    reply(json::value(std::move(*h)));
  });
}

}  // namespace hs::daemon
