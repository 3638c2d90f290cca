// Layout 2 (STATE.md, "Layout 2"): what HarnessSync 0.1.4 writes. The daemon
// follows a file that is already version 2, and with --schema 2 makes every
// document version 2 with `accounts`: the fresh ones at once, a version 1
// file at load (written before anything else happens, as HarnessSync does:
// at open, or by the Sequencer's next write after a reload),
// and anything else by the first change (keep_layout).
#include <boost/json/value.hpp>

#include "daemon/store/state_store.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

int64_t version_of(const json::object& doc) {
  const json::value* v = doc.if_contains("version");
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

// {"version": 2, "targets": {}, "accounts": {}}, then the other members a
// fresh document has (cc2all's migrated_from), in that order.
json::object fresh_layout2(json::object doc) {
  json::object out;
  out["version"] = 2;
  json::value* targets = doc.if_contains("targets");
  out["targets"] = targets != nullptr ? std::move(*targets) : json::value(json::object());
  out["accounts"] = json::object();
  for (auto& kv : doc) {
    if (!out.contains(kv.key())) out[kv.key()] = std::move(kv.value());
  }
  return out;
}

// A version 1 file's `accounts` in layout 2: its targets as the account
// "default", with the top-level last_sync (null when it has none); {} when
// it has no targets.
json::object accounts_of_v1(const json::object& doc) {
  const json::value* targets = doc.if_contains("targets");
  if (targets == nullptr || !targets->is_object() || targets->get_object().empty()) return {};
  const json::value* last_sync = doc.if_contains("last_sync");
  json::object account;
  account["last_sync"] = last_sync != nullptr ? *last_sync : json::value(nullptr);
  account["targets"] = *targets;
  return json::object{{"default", std::move(account)}};
}

}  // namespace

int StateStore::layout() const { return opts_.schema == 2 || version_of(doc_) == 2 ? 2 : 1; }

void StateStore::keep_layout() {
  if (layout() != 2) return;
  if (version_of(doc_) != 2) set_member({}, "version", 2);
  if (!doc_.contains("accounts")) set_member({}, "accounts", json::object());
}

void StateStore::prepare_layout(Loaded& loaded, int schema) {
  if (schema != 2 || loaded.fresh || version_of(loaded.doc) == 2 || loaded.doc.contains("accounts")) return;
  loaded.v2_accounts = accounts_of_v1(loaded.doc);
}

void StateStore::settle_layout(Loaded& loaded, std::vector<std::string>* warnings) {
  if (opts_.schema != 2) return;
  if (loaded.fresh) {
    // Made here, not read: nothing to write until the first change.
    doc_ = fresh_layout2(std::move(doc_));
    return;
  }
  if (version_of(doc_) == 2) return;
  // A version 1 file: moved, and written at once by the caller, so that a
  // HarnessSync reading the file next sees what it would have written
  // itself. The flat targets stay; an `accounts` the file already has is
  // kept as it is.
  const bool had_accounts = doc_.contains("accounts");
  json::object accounts;
  if (!had_accounts) accounts = loaded.v2_accounts ? std::move(*loaded.v2_accounts) : accounts_of_v1(doc_);
  set_member({}, "version", 2);
  if (!had_accounts) set_member({}, "accounts", std::move(accounts));
  if (warnings != nullptr) warnings->push_back(state_path_ + " was version 1: moved to version 2 (layout 2)");
}

}  // namespace hs::daemon::store
