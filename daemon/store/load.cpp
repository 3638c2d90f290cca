#include "daemon/store/load.hpp"

#include <cmath>

#include <boost/json/serialize.hpp>

#include "common/fs.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/temp_files.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

std::optional<std::string> check_targets(const json::value* targets, const std::string& where) {
  if (targets == nullptr) return std::nullopt;
  if (!targets->is_object()) return where + " is not an object";
  for (const auto& [name, entry] : targets->get_object()) {
    std::string at = where + "." + std::string(name);
    if (!entry.is_object()) return at + " is not an object";
    const json::value* hashes = entry.get_object().if_contains("file_hashes");
    if (hashes == nullptr) continue;
    if (!hashes->is_object()) return at + ".file_hashes is not an object";
    for (const auto& kv : hashes->get_object()) {
      if (!kv.value().is_string()) return at + ".file_hashes has a hash that is not a string";
    }
  }
  return std::nullopt;
}

// True when the number `v` is above `max`, whatever its form: 3, 3.0,
// 2.5, 18446744073709551615, or 300000000000000000000 and 1e400, which
// Boost.JSON 1.81 reads as doubles (the latter as infinity). Any of them
// may be a schema newer than ours, so none may be overwritten.
bool number_above(const json::value& v, int64_t max) {
  if (v.is_int64()) return v.get_int64() > max;
  if (v.is_uint64()) return v.get_uint64() > static_cast<uint64_t>(max);
  return v.get_double() > static_cast<double>(max);  // NaN cannot come from JSON
}

// A double with an integral value (2.0, 1e0, -3e20) is that integer.
// Integers below 1 (any size) become 0: not a schema version either way.
// Anything else (1.5, -inf) stays as it is: not an integer version.
void normalize_integral(json::value& v) {
  if (!v.is_double()) return;
  double d = v.get_double();
  if (!std::isfinite(d) || std::trunc(d) != d) return;
  v = d < 1 ? int64_t{0} : static_cast<int64_t>(d);  // here 1 <= d <= 2
}

}  // namespace

json::object empty_document() {
  json::object doc;
  doc["version"] = 1;
  doc["targets"] = json::object();
  return doc;
}

std::optional<std::string> why_unusable(const json::object& doc) {
  if (auto why = check_targets(doc.if_contains("targets"), "targets")) return why;
  const json::value* accounts = doc.if_contains("accounts");
  if (accounts == nullptr) return std::nullopt;
  if (!accounts->is_object()) return "accounts is not an object";
  for (const auto& [name, account] : accounts->get_object()) {
    std::string at = "accounts." + std::string(name);
    if (!account.is_object()) return at + " is not an object";
    if (auto why = check_targets(account.get_object().if_contains("targets"), at + ".targets")) {
      return why;
    }
  }
  return std::nullopt;
}

Result<std::string> move_to_backup(const std::string& path, Clock::time_point now) {
  auto [dir, base] = fs::split(path);
  return keep_aside(path, dir, base + ".bak", now);
}

Result<Loaded> load_state(const std::string& dir, Clock::time_point now, LoadMode mode) {
  const std::string path = fs::join(dir, kStateFileName);
  Loaded out;
  if (mode == LoadMode::start) HS_TRY(recover_temp_files(dir, now, out.warnings));

  HS_TRY_ASSIGN(std::optional<ReadFile> read, read_kept(path));
  if (!read) {
    out.doc = empty_document();
    out.fresh = true;
    return out;
  }
  out.file = std::move(read->file);

  std::string why;
  auto parsed = parse_state_text(read->text, path);
  if (!parsed) {
    why = parsed.error().reason();
  } else if (!parsed->is_object()) {
    why = "the top level is not an object";
  } else {
    json::object& doc = parsed->get_object();
    json::value* version = doc.if_contains("version");
    if (version != nullptr && version->is_number() && number_above(*version, kMaxSchemaVersion)) {
      Error e;
      e.code = Errc::unsupported;
      e.op = "load";
      e.path = path;
      e.detail = "state file version " + json::serialize(*version) +
                 " is newer than this harnesssyncd supports (" + std::to_string(kMaxSchemaVersion) +
                 "); the file was left untouched";
      return e;
    }
    if (version != nullptr) normalize_integral(*version);
    if (version == nullptr || !version->is_int64()) {
      // The old cc2all format has no integer version: keep it, wrapped.
      out.doc = empty_document();
      out.doc["migrated_from"] = std::move(doc);
      out.warnings.push_back(path + " has no integer version; kept under migrated_from");
      out.fresh = true;
      return out;
    }
    if (version->get_int64() < 1) {
      why = "version " + std::to_string(version->get_int64()) + " is not a schema version";
    } else if (auto bad = why_unusable(doc)) {
      why = *bad;
    } else {
      out.doc = std::move(doc);
      return out;
    }
  }

  if (mode == LoadMode::run_time) {
    // Its writer may still be at work (an editor, `echo ... > state.json`):
    // it is left exactly as it is, and read again once it is complete.
    return corrupt("load", path, why + (read->changing ? ", and it was being written while read" : ""));
  }
  HS_TRY_ASSIGN(const std::string backup, move_to_backup(path, now));
  out.file.reset();
  HS_TRY(fs::fsync_dir(dir));
  out.warnings.push_back(path + " is unreadable (" + why + "); moved to " + backup +
                         " and starting from an empty state");
  out.doc = empty_document();
  out.fresh = true;
  out.moved_aside = true;
  return out;
}

}  // namespace hs::daemon::store
