// hsctl health TARGET [SCORE [--label L]] | [-n N]: record a health score of
// TARGET, or show its history.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

namespace {

// An integral score as an integer, as the daemon stores and answers it.
json::value score_json(double s) {
  if (s >= -1e15 && s <= 1e15 && static_cast<double>(static_cast<int64_t>(s)) == s) return static_cast<int64_t>(s);
  return s;
}

json::object entry_json(const harnesssync::HealthEntry& e) {
  return json::object{{"timestamp", e.timestamp}, {"score", score_json(e.score)}, {"label", e.label}};
}

}  // namespace

Action setup_health(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string target, label;
    std::optional<double> score;
    std::optional<int64_t> n;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("TARGET", a->target, "Target name")->required();
  sub.add_option("SCORE", a->score, "Record this score (clamped to 0..100); without it, show the history");
  auto* label = sub.add_option("--label", a->label, "A label for the recorded score (default none)");
  auto* n = sub.add_option("-n", a->n, "How many of the last scores to show, 1 to 90 (default 30)")
                ->check(CLI::Range(int64_t{1}, int64_t{90}))
                ->type_name("N");
  label->excludes(n);
  sub.footer("Each target keeps its last 90 scores. --json: the recorded entry {timestamp, score, label},\n"
             "or the history as an array of them, oldest first.");
  return [&ctx, a]() -> int {
    // Scores are per target, never per account: an --account would be ignored.
    if (ctx.account()) return ctx.usage("health: scores are not per account; --account does not apply");
    if (a->score && a->n) return ctx.usage("health: -n shows the history; it does not go with SCORE");
    if (!a->score && !a->label.empty()) return ctx.usage("health: --label needs a SCORE to record");
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    const bool json_out = ctx.globals().json;
    if (a->score) {
      auto r = c->health_record(a->target, *a->score, a->label);
      if (!r) return ctx.fail(r.error());
      if (json_out) {
        Context::print_json(entry_json(*r));
      } else {
        std::printf("recorded %s health %g%s\n", a->target.c_str(), r->score,
                    r->label.empty() ? "" : (" (" + r->label + ")").c_str());
      }
      return exit_code::ok;
    }
    auto r = c->health_history(a->target, a->n.value_or(30));
    if (!r) return ctx.fail(r.error());
    if (json_out) {
      json::array out;
      for (const auto& e : *r) out.push_back(entry_json(e));
      Context::print_json(out);
    } else if (r->empty()) {
      std::printf("%s has no health scores\n", a->target.c_str());
    } else {
      std::printf("%-28s %6s  %s\n", "TIMESTAMP", "SCORE", "LABEL");
      for (const auto& e : *r) {
        std::printf("%-28s %6g%s%s\n", e.timestamp.c_str(), e.score, e.label.empty() ? "" : "  ", e.label.c_str());
      }
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
