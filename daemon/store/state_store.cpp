#include "daemon/store/state_store.hpp"

#include <cerrno>
#include <array>
#include <string_view>

#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "common/state_dir.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/rules.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 3> kTopLevelOrder = {"version", "last_sync", "targets"};

// Puts the members docs/STATE.md shows first (version, last_sync, targets) first;
// the others keep their order. Moves members, copies nothing.
void order_top_level(json::object& o) {
  json::object ordered(o.storage());
  ordered.reserve(o.size());
  for (std::string_view k : kTopLevelOrder) {
    if (json::value* m = o.if_contains(k)) ordered.emplace(k, std::move(*m));
  }
  for (auto& kv : o) {
    if (!ordered.contains(kv.key())) ordered.emplace(kv.key(), std::move(kv.value()));
  }
  o = std::move(ordered);
}

KeyPath targets_path(const TargetRef& ref) {
  if (ref.account) return {"accounts", *ref.account, "targets"};
  return {"targets"};
}

Status check_ref(const TargetRef& ref) {
  HS_TRY(check_name("target", ref.target));
  if (ref.account) HS_TRY(check_name("account", *ref.account));
  return {};
}

Status check_string_map(std::string_view field, const json::object& m) {
  for (const auto& [path, v] : m) {
    HS_TRY(check_path(field, path));
    if (!v.is_string()) return invalid_argument(std::string(field), "every value must be a string");
  }
  return {};
}

std::string describe(const TargetRef& ref) {
  std::string s = "target '" + ref.target + "'";
  if (ref.account) s += " of account '" + *ref.account + "'";
  return s;
}

}  // namespace

json::object AcceptResult::to_json() const {
  json::array u(updated.begin(), updated.end());
  json::array r(removed.begin(), removed.end());
  return json::object{{"updated", std::move(u)}, {"removed", std::move(r)}};
}

json::object MigrateResult::to_json() const {
  json::object o;
  o["migrated"] = migrated;
  o["last_sync"] = last_sync ? json::value(*last_sync) : json::value(nullptr);
  return o;
}

StateStore::StateStore(StoreOptions opts, InstanceLock lock, json::object doc)
    : opts_(std::move(opts)),
      lock_(std::move(lock)),
      state_path_(fs::join(opts_.dir, kStateFileName)),
      doc_(std::move(doc)) {}

Result<std::unique_ptr<StateStore>> StateStore::open(StoreOptions opts,
                                                     std::vector<std::string>* warnings) {
  HS_TRY(ensure_state_dir(opts.dir));
  // The lock comes before anything else touches the dir: the temp sweep must
  // never remove a file another live writer is about to rename.
  HS_TRY_ASSIGN(auto lock, InstanceLock::acquire(fs::join(opts.dir, "harnesssyncd.lock")));
  // Under the lock, so that no other daemon is live: what an interrupted
  // write left is sorted out (temp_files.hpp), then state.json is read.
  HS_TRY_ASSIGN(auto loaded, load_state(opts.dir, opts.now()));
  std::unique_ptr<StateStore> store(new StateStore(std::move(opts), std::move(lock), json::object()));
  store->exchange_ = exchange_works(store->opts_.dir);
  (void)store->adopt(std::move(loaded), warnings);
  HS_TRY(store->commit());
  return store;
}

const json::object* StateStore::find_entry(const TargetRef& ref) const {
  const json::object* targets = nullptr;
  if (ref.account) {
    const json::value* accounts = doc_.if_contains("accounts");
    if (accounts == nullptr || !accounts->is_object()) return nullptr;
    const json::value* account = accounts->get_object().if_contains(*ref.account);
    if (account == nullptr || !account->is_object()) return nullptr;
    const json::value* t = account->get_object().if_contains("targets");
    if (t != nullptr && t->is_object()) targets = &t->get_object();
  } else if (const json::value* t = doc_.if_contains("targets"); t != nullptr && t->is_object()) {
    targets = &t->get_object();
  }
  if (targets == nullptr) return nullptr;
  const json::value* entry = targets->if_contains(ref.target);
  return entry != nullptr && entry->is_object() ? &entry->get_object() : nullptr;
}

Result<DriftReport> StateStore::drift(const TargetRef& ref, const json::object& current) const {
  HS_TRY(check_ref(ref));
  return drift_from_hashes(find_entry(ref), current);
}

Result<DriftReport> StateStore::drift_on_disk(const TargetRef& ref) const {
  HS_TRY(check_ref(ref));
  return store::drift_on_disk(find_entry(ref));
}

void StateStore::set_top_level(std::string_view key, json::value v) {
  if (doc_.contains(key)) {
    log_.assign(doc_, {}, key, std::move(v));
    return;
  }
  // A new key is placed where docs/STATE.md shows it.
  log_.keep_root_order(doc_);
  log_.assign(doc_, {}, key, std::move(v));
  order_top_level(doc_);
}

Result<json::object> StateStore::apply_record(const RecordArgs& a) {
  HS_TRY(check_ref(a.ref));
  HS_TRY(check_string_map("file_hashes", a.file_hashes));
  HS_TRY(check_string_map("sync_methods", a.sync_methods));
  HS_TRY(check_count("synced", a.synced));
  HS_TRY(check_count("skipped", a.skipped));
  HS_TRY(check_count("failed", a.failed));

  const std::string now = iso_local(opts_.now());
  json::object entry;
  entry["last_sync"] = now;
  entry["status"] = sync_status(a.synced, a.failed);
  entry["scope"] = a.scope;
  entry["file_hashes"] = a.file_hashes;
  entry["sync_method"] = a.sync_methods;
  entry["items_synced"] = a.synced;
  entry["items_skipped"] = a.skipped;
  entry["items_failed"] = a.failed;

  pending_ = true;
  keep_layout();
  if (a.ref.account) {
    log_.child_object(doc_, {}, "accounts");
    log_.child_object(doc_, {"accounts"}, *a.ref.account);
    log_.child_object(doc_, {"accounts", *a.ref.account}, "targets");
    log_.assign(doc_, targets_path(a.ref), a.ref.target, entry);
    log_.assign(doc_, {"accounts", *a.ref.account}, "last_sync", json::value(now));
    // Accounts exist only in schema 2: recording into one upgrades the file.
    const json::value* v = doc_.if_contains("version");
    if (v == nullptr || !v->is_int64() || v->get_int64() < 2) set_top_level("version", 2);
  } else {
    log_.child_object(doc_, {}, "targets");
    log_.assign(doc_, targets_path(a.ref), a.ref.target, entry);
  }
  set_top_level("last_sync", json::value(now));

  entry["target"] = a.ref.target;
  return entry;
}

Result<bool> StateStore::apply_clear(const TargetRef& ref) {
  HS_TRY(check_ref(ref));
  if (find_entry(ref) == nullptr) return false;
  pending_ = true;
  keep_layout();
  // Found above, so every object on the way exists.
  log_.erase(doc_, targets_path(ref), ref.target);
  return true;
}

std::vector<Observed> observe_files(const std::vector<std::string>& paths) {
  std::vector<Observed> out;
  out.reserve(paths.size());
  for (const auto& p : paths) {
    Observed o{p, std::nullopt, std::nullopt};
    auto h = sha256_file(p);
    if (h) {
      o.hash = std::move(*h);
    } else if (h.error().sys_errno != ENOENT && h.error().sys_errno != ENOTDIR) {
      o.unreadable = h.error().reason();
    }
    out.push_back(std::move(o));
  }
  return out;
}

Result<AcceptResult> StateStore::apply_accept(const TargetRef& ref, const std::vector<Observed>& files) {
  HS_TRY(check_ref(ref));
  for (const auto& f : files) HS_TRY(check_path("paths", f.path));
  const json::object* entry = find_entry(ref);
  if (entry == nullptr) return invalid_argument("target", describe(ref) + " is not tracked");
  // One unreadable file fails the whole call, with nothing applied.
  for (const auto& f : files) {
    if (f.unreadable) return invalid_argument("paths", "cannot read " + f.path + ": " + *f.unreadable);
  }

  const json::value* hv = entry->if_contains("file_hashes");
  const json::object empty;
  const json::object& stored = hv != nullptr && hv->is_object() ? hv->get_object() : empty;
  std::vector<std::pair<std::string, std::optional<std::string>>> plan;  // path -> new hash or gone
  plan.reserve(files.size());
  for (const auto& f : files) {
    std::optional<std::string> hash = f.hash;
    // Keep the stored form: HarnessSync's 16-character prefixes stay prefixes.
    const json::value* old = stored.if_contains(f.path);
    if (hash && old != nullptr && old->is_string()) {
      std::string_view o = old->get_string();
      if (o.size() >= 16 && o.size() < 64 && is_lower_hex(o, 16)) hash->resize(o.size());
    }
    plan.emplace_back(f.path, std::move(hash));
  }

  AcceptResult out;
  bool changes = false;
  for (const auto& [p, hash] : plan) {
    const json::value* old = stored.if_contains(p);
    if (hash) {
      out.updated.push_back(p);
      changes |= old == nullptr || !old->is_string() || old->get_string() != *hash;
    } else if (old != nullptr) {
      out.removed.push_back(p);
      changes = true;
    }
  }
  if (!changes) return out;

  pending_ = true;
  keep_layout();
  KeyPath entry_path = targets_path(ref);
  entry_path.push_back(ref.target);
  log_.child_object(doc_, entry_path, "file_hashes");
  entry_path.emplace_back("file_hashes");
  for (auto& [p, hash] : plan) {
    if (hash) {
      log_.assign(doc_, entry_path, p, json::value(*hash));
    } else {
      log_.erase(doc_, entry_path, p);
    }
  }
  return out;
}

Result<MigrateResult> StateStore::apply_migrate_cc2all(const std::optional<std::string>& old_dir) {
  std::string dir;
  if (old_dir) {
    HS_TRY(check_path("old_state_dir", *old_dir));
    dir = *old_dir;
  } else if (opts_.cc2all_dir) {
    dir = *opts_.cc2all_dir;
  } else {
    HS_TRY_ASSIGN(const std::string home, home_dir());
    dir = fs::join(home, ".cc2all");
  }
  const std::string old_path = fs::join(dir, "sync-state.json");
  auto text = fs::read_file(old_path);
  if (!text) {
    if (text.error().sys_errno == ENOENT || text.error().sys_errno == ENOTDIR) return MigrateResult{};
    return std::move(text).error();
  }
  MigrateResult out;
  out.migrated = true;
  // Like the seed's read_json_safe, an unparsable old file counts as one
  // without a last_sync: the migration is still marked as done.
  auto parsed = parse_state_text(*text, old_path);
  if (parsed && parsed->is_object()) {
    const json::value* ls = parsed->get_object().if_contains("last_sync");
    if (ls != nullptr && ls->is_string()) out.last_sync = std::string(ls->get_string());
  }
  pending_ = true;
  keep_layout();
  if (out.last_sync) set_top_level("last_sync", json::value(*out.last_sync));
  set_top_level("migrated_from_cc2all", json::value(iso_local(opts_.now())));
  return out;
}

}  // namespace hs::daemon::store
