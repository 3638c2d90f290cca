#include "daemon/store/drift.hpp"

#include <cerrno>

#include "common/sha256.hpp"
#include "daemon/store/rules.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

const json::object& stored_hashes(const json::object& entry) {
  static const json::object kEmpty;
  const json::value* h = entry.if_contains("file_hashes");
  return h != nullptr && h->is_object() ? h->get_object() : kEmpty;
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

void finish(DriftReport& r) {
  r.drifted.reserve(r.changed.size() + r.added.size() + r.removed.size());
  r.drifted.insert(r.drifted.end(), r.removed.begin(), r.removed.end());
}

}  // namespace

json::object DriftReport::to_json(std::string_view target) const {
  json::object o;
  o["target"] = target;
  o["tracked"] = tracked;
  o["drifted"] = to_array(drifted);
  o["changed"] = to_array(changed);
  o["added"] = to_array(added);
  o["removed"] = to_array(removed);
  json::array errs;
  for (const auto& [path, reason] : errors) errs.push_back(json::object{{"path", path}, {"reason", reason}});
  o["errors"] = std::move(errs);
  return o;
}

Result<DriftReport> drift_from_hashes(const json::object* entry, const json::object& current) {
  for (const auto& [path, hash] : current) {
    HS_TRY(check_path("current_hashes", path));
    if (!hash.is_string()) return invalid_argument("current_hashes", "every hash must be a string");
  }
  DriftReport r;
  r.tracked = entry != nullptr;
  const json::object empty;
  const json::object& stored = entry != nullptr ? stored_hashes(*entry) : empty;
  // drifted keeps changed and added interleaved in the caller's order, as the
  // seed's detect_drift list does; removed paths follow in stored order.
  for (const auto& [path, hash] : current) {
    const json::value* old = stored.if_contains(path);
    if (old == nullptr) {
      r.added.emplace_back(path);
      r.drifted.emplace_back(path);
    } else if (!old->is_string() || !hashes_equal(old->get_string(), hash.get_string())) {
      r.changed.emplace_back(path);
      r.drifted.emplace_back(path);
    }
  }
  for (const auto& kv : stored) {
    if (!current.contains(kv.key())) r.removed.emplace_back(kv.key());
  }
  finish(r);
  return r;
}

DriftReport drift_on_disk(const json::object* entry, const HashOf& hash_of) {
  DriftReport r;
  r.tracked = entry != nullptr;
  if (entry == nullptr) return r;
  for (const auto& [path, stored] : stored_hashes(*entry)) {
    std::string_view old = stored.is_string() ? std::string_view(stored.get_string()) : "";
    auto now = hash_of ? hash_of(std::string(path)) : sha256_file(std::string(path));
    if (!now) {
      int err = now.error().sys_errno;
      if (err == ENOENT || err == ENOTDIR) {
        if (!old.empty()) r.removed.emplace_back(path);
      } else {
        r.errors.emplace_back(path, now.error().reason());
      }
      continue;
    }
    if (old.empty() || !hashes_equal(old, *now)) r.changed.emplace_back(path);
  }
  r.drifted = r.changed;
  finish(r);
  return r;
}

DriftReport drift_on_disk(const json::object* entry, const std::vector<DiskHash>& now) {
  DriftReport r;
  r.tracked = entry != nullptr;
  if (entry == nullptr) return r;
  size_t i = 0;
  for (const auto& [path, stored] : stored_hashes(*entry)) {
    const DiskHash& d = now.at(i++);
    std::string_view old = stored.is_string() ? std::string_view(stored.get_string()) : "";
    if (d.hex == nullptr) {
      int err = d.error != nullptr ? d.error->sys_errno : 0;
      if (err == ENOENT || err == ENOTDIR) {
        if (!old.empty()) r.removed.emplace_back(path);
      } else {
        r.errors.emplace_back(path, d.error != nullptr ? d.error->reason() : std::string("no digest"));
      }
      continue;
    }
    if (old.empty() || !hashes_equal(old, *d.hex)) r.changed.emplace_back(path);
  }
  r.drifted = r.changed;
  finish(r);
  return r;
}

}  // namespace hs::daemon::store
