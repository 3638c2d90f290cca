// HarnessSync's other sections (STATE.md): accounts read back, plugins and
// their drift, the global dry-run flag, and the health-score history. Every
// change goes through set_member(), and so through the undo log.
#include <algorithm>
#include <cmath>

#include "common/clock.hpp"
#include "common/validate.hpp"
#include "daemon/store/python_str.hpp"
#include "daemon/store/state_store.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

constexpr size_t kHealthKept = 90;  // entries per target, as HarnessSync keeps

const json::object* object_member(const json::object* parent, std::string_view key) {
  if (parent == nullptr) return nullptr;
  const json::value* v = parent->if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// Python's max(0, min(100, score)): the score itself when strictly inside
// the range, else the int 0 or 100 (min and max keep their first argument on
// ties, so 100.0 gives 100 and -0.0 gives 0).
json::value clamp_score(const json::value& s) {
  if (s.is_double()) {
    double d = s.get_double();
    if (d >= 100) return 100;
    if (d <= 0) return 0;
    return d;
  }
  if (s.is_uint64()) return 100;  // above INT64_MAX
  int64_t i = s.get_int64();
  return i >= 100 ? 100 : i <= 0 ? 0 : i;
}

Status check_plugins(std::string_view field, const json::object& plugins) {
  for (const auto& kv : plugins) {
    if (!kv.value().is_object()) {
      return invalid_argument(std::string(field), "the value for \"" + std::string(kv.key()) + "\" must be an object");
    }
  }
  return {};
}

// A plugin's member as HarnessSync reads it: meta.get(key), None when absent.
json::value member_or_none(const json::value& meta, std::string_view key) {
  if (!meta.is_object()) return nullptr;
  const json::value* v = meta.get_object().if_contains(key);
  return v != nullptr ? *v : json::value(nullptr);
}

}  // namespace

void StateStore::set_member(const KeyPath& at, std::string_view key, json::value v) {
  pending_ = true;
  log_.assign(doc_, at, key, std::move(v));
}

// ---- Reads.

const json::object* StateStore::find_account(std::string_view account) const {
  return object_member(object_member(&doc_, "accounts"), account);
}

std::vector<std::string> StateStore::account_names() const {
  std::vector<std::string> names;
  if (const json::object* accounts = object_member(&doc_, "accounts")) {
    for (const auto& kv : *accounts) names.emplace_back(kv.key());
  }
  // Byte order of UTF-8 is code point order: Python's sorted().
  std::sort(names.begin(), names.end());
  return names;
}

json::object StateStore::plugins(const std::optional<std::string>& account) const {
  const json::object* holder = account ? find_account(*account) : &doc_;
  const json::object* p = object_member(holder, "plugins");
  return p != nullptr ? *p : json::object();
}

Result<json::object> StateStore::plugin_drift(const json::object& current,
                                              const std::optional<std::string>& account) const {
  if (account) HS_TRY(check_name("account", *account));
  HS_TRY(check_plugins("current", current));
  const json::object* stored = object_member(account ? find_account(*account) : &doc_, "plugins");
  const json::object none;
  if (stored == nullptr) stored = &none;
  // HarnessSync's order: removed names first (stored order), then the
  // current ones (current order).
  json::object drift;
  for (const auto& kv : *stored) {
    if (!current.contains(kv.key())) drift[kv.key()] = "removed";
  }
  for (const auto& [name, meta] : current) {
    const json::value* old = stored->if_contains(name);
    if (old == nullptr) {
      drift[name] = "added";
      continue;
    }
    for (std::string_view key : {"version", "mcp_count"}) {
      json::value was = member_or_none(*old, key);
      json::value now = member_or_none(meta, key);
      if (!python_equal(was, now)) {
        drift[name] = std::string(key) + "_changed: " + python_str(was) + " -> " + python_str(now);
        break;
      }
    }
  }
  return drift;
}

bool StateStore::dry_run() const {
  const json::value* v = doc_.if_contains("global_dry_run");
  return v != nullptr && v->is_bool() && v->get_bool();
}

Result<json::array> StateStore::health_history(const std::string& target, int64_t n) const {
  HS_TRY(check_name("target", target));
  if (n < 1 || n > static_cast<int64_t>(kHealthKept)) return invalid_argument("n", "must be an integer from 1 to 90");
  const json::object* all = object_member(&doc_, "health_score_history");
  const json::value* h = all != nullptr ? all->if_contains(target) : nullptr;
  if (h == nullptr || !h->is_array()) return json::array();
  const json::array& a = h->get_array();
  const size_t from = a.size() > static_cast<size_t>(n) ? a.size() - static_cast<size_t>(n) : 0;
  return json::array(a.begin() + static_cast<std::ptrdiff_t>(from), a.end());
}

// ---- Changes.

Result<size_t> StateStore::apply_plugins(const json::object& plugins, const std::optional<std::string>& account) {
  if (account) HS_TRY(check_name("account", *account));
  HS_TRY(check_plugins("plugins", plugins));
  const json::object* now = object_member(account ? find_account(*account) : &doc_, "plugins");
  if (now != nullptr && *now == plugins) return plugins.size();  // nothing to write
  // Top-level members first: adding one may move the others in memory.
  keep_layout();
  if (!account) {
    set_member({}, "plugins", plugins);
    return plugins.size();
  }
  // Accounts exist only in schema 2 (as in apply_record).
  const json::value* v = doc_.if_contains("version");
  if (v == nullptr || !v->is_int64() || v->get_int64() < 2) set_member({}, "version", 2);
  if (object_member(&doc_, "accounts") == nullptr) set_member({}, "accounts", json::object());
  if (find_account(*account) == nullptr) set_member({"accounts"}, *account, json::object());
  set_member({"accounts", *account}, "plugins", plugins);
  return plugins.size();
}

Result<bool> StateStore::apply_dry_run(bool enabled) {
  const json::value* v = doc_.if_contains("global_dry_run");
  if (v != nullptr && v->is_bool() && v->get_bool() == enabled) return enabled;  // nothing to write
  keep_layout();
  set_member({}, "global_dry_run", enabled);
  return enabled;
}

Result<json::object> StateStore::apply_health(const HealthArgs& a) {
  HS_TRY(check_name("target", a.target));
  if (!a.score.is_number()) return invalid_argument("score", "must be a number");
  if (a.score.is_double() && std::isnan(a.score.get_double())) return invalid_argument("score", "must be a number");
  json::object entry;
  entry["timestamp"] = iso_local(opts_.now());
  entry["score"] = clamp_score(a.score);
  entry["label"] = a.label;

  keep_layout();
  if (object_member(&doc_, "health_score_history") == nullptr) {
    set_member({}, "health_score_history", json::object());
  }
  const json::object& all = doc_["health_score_history"].get_object();
  json::array kept;
  if (const json::value* h = all.if_contains(a.target); h != nullptr && h->is_array()) {
    const json::array& old = h->get_array();
    const size_t from = old.size() >= kHealthKept ? old.size() - (kHealthKept - 1) : 0;
    kept.reserve(old.size() - from + 1);
    kept.insert(kept.end(), old.begin() + static_cast<std::ptrdiff_t>(from), old.end());
  }
  kept.push_back(entry);
  set_member({"health_score_history"}, a.target, std::move(kept));
  return entry;
}

}  // namespace hs::daemon::store
