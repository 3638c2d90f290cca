// Typed wrappers for HarnessSync's other sections: accounts, plugins, dry
// run, health scores.
#include "client/src/errors.hpp"
#include "client/src/json_read.hpp"
#include "common/result.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {
namespace json = boost::json;
using detail::member;
using detail::object_result;
using detail::protocol_error;

namespace {

Result<HealthEntry> health_entry(const json::value& v, std::string_view method) {
  const json::object* o = v.if_object();
  const json::value* score = o != nullptr ? o->if_contains("score") : nullptr;
  if (score == nullptr || !score->is_number()) return protocol_error(std::string(method) + ": an entry without a score");
  HealthEntry e;
  e.score = score->to_number<double>();
  if (const auto* t = member(*o, "timestamp", json::kind::string)) e.timestamp = t->get_string();
  if (const auto* l = member(*o, "label", json::kind::string)) e.label = l->get_string();
  return e;
}

}  // namespace

Result<std::optional<json::object>> Client::account(const std::string& account) {
  auto r = call("state.account", json::object{{"account", account}});
  if (r && r->is_null()) return std::optional<json::object>();
  HS_TRY_ASSIGN(json::object o, object_result(std::move(r), "state.account"));
  return std::optional<json::object>(std::move(o));
}

Result<std::vector<std::string>> Client::accounts() {
  HS_TRY_ASSIGN(const json::value r, call("state.accounts"));
  if (!r.is_array()) return protocol_error("state.accounts: the answer is not an array");
  return detail::to_strings(&r);
}

Result<int64_t> Client::plugins_record(const json::object& plugins, const std::optional<std::string>& account) {
  json::object p{{"plugins", plugins}};
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("plugins.record", std::move(p)), "plugins.record"));
  const auto* n = member(o, "plugins", json::kind::int64);
  if (n == nullptr) return protocol_error("plugins.record: no plugins count");
  return n->get_int64();
}

Result<json::object> Client::plugins_status(const std::optional<std::string>& account) {
  json::object p;
  if (account) p["account"] = *account;
  return object_result(call("plugins.status", std::move(p)), "plugins.status");
}

Result<std::vector<std::pair<std::string, std::string>>> Client::plugins_drift(
    const json::object& current, const std::optional<std::string>& account) {
  json::object p{{"current", current}};
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("plugins.drift", std::move(p)), "plugins.drift"));
  const auto* d = member(o, "drift", json::kind::object);
  if (d == nullptr) return protocol_error("plugins.drift: no drift");
  // json::object keeps the daemon's order, which is meaningful here.
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, why] : d->get_object()) {
    if (!why.is_string()) return protocol_error("plugins.drift: a reason that is not a string");
    out.emplace_back(std::string(name), std::string(why.get_string()));
  }
  return out;
}

Result<bool> Client::dry_run(std::optional<bool> enabled) {
  json::object p;
  if (enabled) p["enabled"] = *enabled;
  HS_TRY_ASSIGN(const json::object o, object_result(call("settings.dry_run", std::move(p)), "settings.dry_run"));
  const auto* f = member(o, "global_dry_run", json::kind::bool_);
  if (f == nullptr) return protocol_error("settings.dry_run: no global_dry_run");
  return f->get_bool();
}

Result<HealthEntry> Client::health_record(const std::string& target, double score, const std::string& label) {
  // Integral scores within double's exact range go as integers: HarnessSync
  // stores an int score as an int, and readers of the file may tell them apart.
  constexpr double kExact = 9007199254740992.0;  // 2^53
  json::value s;
  // (NaN fails both comparisons.)
  if (score >= -kExact && score <= kExact && static_cast<double>(static_cast<int64_t>(score)) == score) {
    s = static_cast<int64_t>(score);
  } else {
    s = score;  // NaN and infinities go too: the daemon refuses them (-32602)
  }
  HS_TRY_ASSIGN(const json::value r,
                call("health.record", json::object{{"target", target}, {"score", std::move(s)}, {"label", label}}));
  return health_entry(r, "health.record");
}

Result<std::vector<HealthEntry>> Client::health_history(const std::string& target, int64_t n) {
  HS_TRY_ASSIGN(const json::value r, call("health.history", json::object{{"target", target}, {"n", n}}));
  if (!r.is_array()) return protocol_error("health.history: the answer is not an array");
  std::vector<HealthEntry> out;
  for (const auto& v : r.get_array()) {
    HS_TRY_ASSIGN(HealthEntry e, health_entry(v, "health.history"));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace harnesssync
