#include "daemon/triggers/trigger_file.hpp"

#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <set>

#include "common/clock.hpp"
#include "common/durable_file.hpp"
#include "common/fs.hpp"
#include "daemon/store/load.hpp"

namespace hs::daemon::triggers {
namespace json = boost::json;
namespace {

// The members of an entry beyond its spec.
Result<Saved> entry_from_json(const json::value& v, const std::string& default_cwd) {
  if (!v.is_object()) return corrupt("read", "", "an entry is not an object");
  const json::object& o = v.get_object();
  Saved s;
  auto spec = parse_spec(o, default_cwd, nullptr);
  if (!spec) return corrupt("read", "", spec.error().field + ": " + spec.error().reason());
  s.spec = std::move(*spec);
  auto flag = [&](const char* key, bool& out) -> Status {
    const json::value* m = o.if_contains(key);
    if (m == nullptr) return {};
    if (!m->is_bool()) return corrupt("read", "", std::string(key) + " is not a boolean");
    out = m->get_bool();
    return {};
  };
  HS_TRY(flag("paused", s.paused));
  HS_TRY(flag("owed", s.owed));
  HS_TRY(flag("in_run", s.in_run));
  if (const json::value* runs = o.if_contains("runs")) {
    if (!runs->is_int64() || runs->get_int64() < 0) return corrupt("read", "", "runs is not a count");
    s.runs = static_cast<uint64_t>(runs->get_int64());
  }
  if (const json::value* sig = o.if_contains("signature"); sig != nullptr && !sig->is_null()) {
    if (!sig->is_string()) return corrupt("read", "", "signature is not a string");
    s.signature = std::string(sig->get_string());
  }
  if (const json::value* last = o.if_contains("last"); last != nullptr && !last->is_null()) {
    auto r = run_from_json(*last);
    if (!r) return corrupt("read", "", "last: " + r.error().reason());
    s.last = std::move(*r);
    s.last->stdout_tail.clear();
    s.last->stderr_tail.clear();
  }
  return s;
}

}  // namespace

std::string encode(const std::vector<Saved>& triggers) {
  json::array list;
  for (const auto& t : triggers) {
    json::object o = to_json(t.spec);
    o["paused"] = t.paused;
    o["runs"] = t.runs;
    o["owed"] = t.owed;
    o["in_run"] = t.in_run;
    o["signature"] = t.signature ? json::value(*t.signature) : json::value(nullptr);
    o["last"] = t.last ? json::value(to_json(*t.last, false)) : json::value(nullptr);
    list.push_back(std::move(o));
  }
  return json::serialize(json::object{{"version", kTriggersFileVersion}, {"triggers", std::move(list)}}) + "\n";
}

Result<Decoded> decode(const std::string& text, const std::string& default_cwd) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return corrupt("parse", "", "not JSON (" + ec.message() + ")");
  if (!doc.is_object()) return corrupt("parse", "", "the top level is not an object");
  const json::value* version = doc.get_object().if_contains("version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != kTriggersFileVersion) {
    return corrupt("parse", "", "version is not " + std::to_string(kTriggersFileVersion));
  }
  const json::value* list = doc.get_object().if_contains("triggers");
  if (list == nullptr || !list->is_array()) return corrupt("parse", "", "\"triggers\" is not an array");
  Decoded out;
  std::set<std::string> names;
  size_t i = 0;
  for (const auto& e : list->get_array()) {
    ++i;
    auto entry = entry_from_json(e, default_cwd);
    if (!entry) {
      out.dropped.push_back("entry " + std::to_string(i) + ": " + entry.error().reason());
    } else if (!names.insert(entry->spec.name).second) {
      out.dropped.push_back("entry " + std::to_string(i) + ": a second trigger named " + entry->spec.name);
    } else {
      out.triggers.push_back(std::move(*entry));
    }
  }
  return out;
}

Result<Loaded> load_file(const std::string& dir) {
  const std::string path = fs::join(dir, kTriggersFileName);
  Loaded out;
  // Temp files of an interrupted save: the daemon's own, under its
  // instance lock, so no save of ours is live.
  auto names = fs::list_dir(dir);
  if (!names) return std::move(names).error();
  const std::string ours = durable_temp_prefix(kTriggersFileName);
  for (const auto& name : *names) {
    if (name.rfind(ours, 0) != 0) continue;
    const std::string tmp = fs::join(dir, name);
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return os_error("unlink", tmp, errno);
  }
  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().sys_errno == ENOENT) return out;
    return std::move(text).error();
  }
  auto decoded = decode(*text, dir);
  if (decoded && decoded->dropped.empty()) {
    out.triggers = std::move(decoded->triggers);
    return out;
  }
  // Never silently emptied: the file as it was is kept beside the new one.
  HS_TRY_ASSIGN(const std::string aside, store::move_to_backup(path, Clock::now()));
  HS_TRY(fs::fsync_dir(dir));
  if (!decoded) {
    out.warnings.push_back(path + " is unreadable (" + decoded.error().reason() + "); moved to " + aside +
                           " and starting with no triggers");
    return out;
  }
  for (const auto& d : decoded->dropped) {
    out.warnings.push_back(path + ": " + d + "; left out (the file as it was is kept as " + aside + ")");
  }
  out.triggers = std::move(decoded->triggers);
  HS_TRY(save_file(dir, out.triggers));
  return out;
}

Status save_file(const std::string& dir, const std::vector<Saved>& triggers) {
  return replace_file_durably(fs::join(dir, kTriggersFileName), encode(triggers), 0600);
}

}  // namespace hs::daemon::triggers
