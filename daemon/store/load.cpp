#include "daemon/store/load.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include <boost/json/serialize.hpp>

#include "common/durable_file.hpp"
#include "common/fs.hpp"
#include "common/platform.hpp"
#include "daemon/store/json_text.hpp"

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

// HarnessSync's tempfile.NamedTemporaryFile(dir=..., suffix='.tmp') names:
// "tmp" + 8 characters of [a-z0-9_] + ".tmp".
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

bool is_python_temp_name(std::string_view n) {
  if (n.size() != 3 + 8 + 4 || n.substr(0, 3) != "tmp" || n.substr(11) != ".tmp") return false;
  for (char c : n.substr(3, 8)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Renames without ever replacing `to`. RENAME_NOREPLACE makes the check and
// the rename one step; link()+unlink() is the fallback for file systems that
// lack it, and the portable way (HS_HAVE_RENAMEAT2 off). Returns errno
// (EEXIST when `to` is taken), or 0.
int rename_noreplace(const std::string& from, const std::string& to) {
#if HS_HAVE_RENAMEAT2
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  if (::unlink(from.c_str()) != 0) return errno;
  return 0;
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

Status sweep_temp_files(const std::string& dir, std::vector<std::string>& warnings) {
  HS_TRY_ASSIGN(const std::vector<std::string> names, fs::list_dir(dir));
  const std::string ours = durable_temp_prefix(kStateFileName);
  for (const auto& name : names) {
    if (name.rfind(ours, 0) != 0 && !is_python_temp_name(name)) continue;
    std::string path = fs::join(dir, name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_error("unlink", path, errno);
    warnings.push_back("removed temp file left by an interrupted write: " + path);
  }
  return {};
}

Result<std::string> move_to_backup(const std::string& path, Clock::time_point now) {
  const std::string base = path + ".bak." + stamp_local(now);
  for (int n = 0;; ++n) {
    std::string candidate = n == 0 ? base : base + "." + std::to_string(n);
    int err = rename_noreplace(path, candidate);
    if (err == 0) return candidate;
    if (err != EEXIST) return os_error("rename to " + candidate, path, err);
  }
}

Result<Loaded> load_state(const std::string& dir, Clock::time_point now, bool sweep) {
  const std::string path = fs::join(dir, kStateFileName);
  Loaded out;
  if (sweep) HS_TRY(sweep_temp_files(dir, out.warnings));

  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().sys_errno == ENOENT) {
      out.doc = empty_document();
      out.fresh = true;
      return out;
    }
    return std::move(text).error();
  }

  std::string why;
  auto parsed = parse_state_text(*text, path);
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

  HS_TRY_ASSIGN(const std::string backup, move_to_backup(path, now));
  HS_TRY(fs::fsync_dir(dir));
  out.warnings.push_back(path + " is unreadable (" + why + "); moved to " + backup +
                         " and starting from an empty state");
  out.doc = empty_document();
  out.fresh = true;
  out.moved_aside = true;
  return out;
}

}  // namespace hs::daemon::store
