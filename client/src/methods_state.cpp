// Typed wrappers: state.*, hash.files, and the subscription.
#include "client/src/errors.hpp"
#include "client/src/json_read.hpp"
#include "common/result.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {
namespace json = boost::json;
using detail::member;
using detail::object_result;
using detail::protocol_error;
using detail::to_array;
using detail::to_object;
using detail::to_strings;

Result<json::object> Client::record(const RecordRequest& r) {
  json::object p;
  p["target"] = r.target;
  p["scope"] = r.scope;
  p["file_hashes"] = to_object(r.file_hashes);
  p["sync_methods"] = to_object(r.sync_methods);
  p["synced"] = r.synced;
  p["skipped"] = r.skipped;
  p["failed"] = r.failed;
  if (r.account) p["account"] = *r.account;
  return object_result(call("state.record", std::move(p)), "state.record");
}

Result<DriftReport> Client::drift(const std::string& target,
                                  const std::optional<std::vector<std::pair<std::string, std::string>>>& current,
                                  const std::optional<std::string>& account) {
  json::object p;
  p["target"] = target;
  if (current) p["current_hashes"] = to_object(*current);
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("state.drift", std::move(p)), "state.drift"));
  DriftReport d;
  if (const auto* t = member(o, "target", json::kind::string)) d.target = t->get_string();
  if (const auto* t = member(o, "tracked", json::kind::bool_)) d.tracked = t->get_bool();
  d.drifted = to_strings(o.if_contains("drifted"));
  d.changed = to_strings(o.if_contains("changed"));
  d.added = to_strings(o.if_contains("added"));
  d.removed = to_strings(o.if_contains("removed"));
  if (const auto* errs = member(o, "errors", json::kind::array)) {
    for (const auto& e : errs->get_array()) {
      if (!e.is_object()) continue;
      const auto* path = member(e.get_object(), "path", json::kind::string);
      const auto* why = member(e.get_object(), "reason", json::kind::string);
      if (path != nullptr && why != nullptr) {
        d.errors.emplace_back(std::string(path->get_string()), std::string(why->get_string()));
      }
    }
  }
  return d;
}

Result<std::optional<json::object>> Client::target(const std::string& target,
                                                   const std::optional<std::string>& account) {
  json::object p{{"target", target}};
  if (account) p["account"] = *account;
  auto r = call("state.target", std::move(p));
  if (r && r->is_null()) return std::optional<json::object>();
  HS_TRY_ASSIGN(json::object o, object_result(std::move(r), "state.target"));
  return std::optional<json::object>(std::move(o));
}

Result<json::object> Client::all() { return object_result(call("state.all"), "state.all"); }

Result<bool> Client::clear(const std::string& target, const std::optional<std::string>& account) {
  json::object p{{"target", target}};
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("state.clear", std::move(p)), "state.clear"));
  const auto* c = member(o, "cleared", json::kind::bool_);
  if (c == nullptr) return protocol_error("state.clear: no cleared");
  return c->get_bool();
}

Result<AcceptResult> Client::accept(const std::string& target, const std::vector<std::string>& paths,
                                    const std::optional<std::string>& account) {
  json::object p{{"target", target}, {"paths", to_array(paths)}};
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("state.accept", std::move(p)), "state.accept"));
  return AcceptResult{to_strings(o.if_contains("updated")), to_strings(o.if_contains("removed"))};
}

Result<MigrateResult> Client::migrate_cc2all(const std::optional<std::string>& old_state_dir) {
  json::object p;
  if (old_state_dir) p["old_state_dir"] = *old_state_dir;
  HS_TRY_ASSIGN(const json::object o,
                object_result(call("state.migrate_cc2all", std::move(p)), "state.migrate_cc2all"));
  MigrateResult m;
  if (const auto* b = member(o, "migrated", json::kind::bool_)) m.migrated = b->get_bool();
  if (const auto* ls = member(o, "last_sync", json::kind::string)) m.last_sync = std::string(ls->get_string());
  return m;
}

Result<std::map<std::string, std::optional<std::string>>> Client::hash_files(const std::vector<std::string>& paths) {
  HS_TRY_ASSIGN(const json::object o,
                object_result(call("hash.files", json::object{{"paths", to_array(paths)}}), "hash.files"));
  std::map<std::string, std::optional<std::string>> m;
  for (const auto& [k, h] : o) {
    m[std::string(k)] = h.is_string() ? std::optional<std::string>(std::string(h.get_string())) : std::nullopt;
  }
  return m;
}

Result<int64_t> Client::subscribe(const std::vector<std::string>& targets, const std::optional<std::string>& account) {
  json::object p;
  if (!targets.empty()) p["targets"] = to_array(targets);
  if (account) p["account"] = *account;
  HS_TRY_ASSIGN(const json::object o, object_result(call("state.subscribe", std::move(p)), "state.subscribe"));
  const auto* sub = member(o, "subscription", json::kind::int64);
  if (sub == nullptr) return protocol_error("state.subscribe: no subscription");
  return sub->get_int64();
}

Result<Done> Client::unsubscribe(int64_t subscription) {
  return detail::done_result(call("state.unsubscribe", json::object{{"subscription", subscription}}));
}

}  // namespace harnesssync
