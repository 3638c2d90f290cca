#include "daemon/triggers/spec.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/validate.hpp"

namespace hs::daemon::triggers {
namespace json = boost::json;
namespace {

Error bad(const char* field, std::string reason) { return invalid_argument(field, std::move(reason)); }

Status absolute_path(const char* field, const json::value& v, std::string& out) {
  if (!v.is_string()) return bad(field, "must be a string");
  HS_TRY(check_path(field, v.get_string()));
  out = std::string(v.get_string());
  if (out[0] != '/') return bad(field, "must be an absolute path: " + out);
  // One spelling per path: "/a/b/" and "/a/b" are one watch.
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return {};
}

Status integer(const char* field, const json::value* v, int64_t lo, int64_t hi, int64_t& out) {
  if (v == nullptr) return {};
  const std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v->is_int64()) return bad(field, v->is_number() ? range : "must be an integer");
  if (v->get_int64() < lo || v->get_int64() > hi) return bad(field, range);
  out = v->get_int64();
  return {};
}

Status read_watch(const json::value* v, std::vector<std::string>& out) {
  if (v == nullptr) return bad("watch", "missing");
  if (!v->is_array()) return bad("watch", "must be an array of absolute paths");
  const auto& a = v->get_array();
  if (a.empty() || a.size() > kMaxWatch) return bad("watch", "must hold 1 to 256 paths");
  std::set<std::string> seen;
  for (const auto& e : a) {
    std::string p;
    HS_TRY(absolute_path("watch", e, p));
    if (seen.insert(p).second) out.push_back(std::move(p));
  }
  return {};
}

Status read_command(const json::value* v, std::vector<std::string>& out) {
  if (v == nullptr) return bad("command", "missing");
  if (!v->is_array() || v->get_array().empty()) return bad("command", "must be a non-empty array of strings (argv)");
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) return bad("command", "every element must be a string");
    std::string s(e.get_string());
    if (s.find('\0') != std::string::npos) return bad("command", "an argument contains a NUL byte");
    out.push_back(std::move(s));
  }
  if (out[0].empty()) return bad("command", "command[0] must not be empty");
  return {};
}

Status read_env(const json::value* v, std::map<std::string, std::string>& out) {
  if (v == nullptr) return {};
  if (!v->is_object()) return bad("env", "must be an object of {name: string}");
  for (const auto& [k, val] : v->get_object()) {
    std::string name(k);
    if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
      return bad("env", "\"" + name + "\" is not a variable name (empty, or holds = or NUL)");
    }
    if (!val.is_string()) return bad("env", "the value of " + name + " must be a string");
    std::string value(val.get_string());
    if (value.find('\0') != std::string::npos) return bad("env", "the value of " + name + " contains a NUL byte");
    out.emplace(std::move(name), std::move(value));
  }
  return {};
}

Status read_lock(const json::value* v, std::optional<std::string>& out) {
  if (v == nullptr) return {};
  if (v->is_null()) {
    out.reset();
    return {};
  }
  if (!v->is_string()) return bad("lock", "must be a lock name, or null for none");
  HS_TRY(check_name("lock", v->get_string()));
  out = std::string(v->get_string());
  return {};
}

}  // namespace

Result<Spec> parse_spec(const json::object& p, const std::string& default_cwd, const SpecChecks* checks) {
  Spec s;
  // In the order of the protocol's list, so that the first bad field named
  // is the first a reader of the call would see.
  const json::value* name = p.if_contains("name");
  if (name == nullptr) return bad("name", "missing");
  if (!name->is_string()) return bad("name", "must be a string");
  HS_TRY(check_name("name", name->get_string()));
  s.name = std::string(name->get_string());
  HS_TRY(read_watch(p.if_contains("watch"), s.watch));
  HS_TRY(read_command(p.if_contains("command"), s.command));
  s.cwd = default_cwd;
  if (const json::value* cwd = p.if_contains("cwd")) HS_TRY(absolute_path("cwd", *cwd, s.cwd));
  HS_TRY(read_env(p.if_contains("env"), s.env));
  HS_TRY(integer("settle_ms", p.if_contains("settle_ms"), 0, kMaxSettleMs, s.settle_ms));
  // A settle longer than the default max-wait raises the max-wait with it:
  // only an explicit max_wait_ms below settle_ms is a contradiction.
  s.max_wait_ms = std::max(kDefaultMaxWaitMs, s.settle_ms);
  HS_TRY(integer("max_wait_ms", p.if_contains("max_wait_ms"), 0, kMaxDurationMs, s.max_wait_ms));
  if (s.max_wait_ms < s.settle_ms) return bad("max_wait_ms", "must be at least settle_ms (" + std::to_string(s.settle_ms) + ")");
  HS_TRY(read_lock(p.if_contains("lock"), s.lock));
  HS_TRY(integer("timeout_ms", p.if_contains("timeout_ms"), 1, kMaxDurationMs, s.timeout_ms));
  if (const json::value* en = p.if_contains("enabled")) {
    if (!en->is_bool()) return bad("enabled", "must be a boolean");
    s.enabled = en->get_bool();
  }
  if (checks != nullptr) {
    auto found = checks->find_command(s.command[0]);
    if (!found) return bad("command", found.error().reason());
    s.command[0] = std::move(*found);
    if (auto why = checks->dir_problem(s.cwd)) return bad("cwd", *why);
  }
  return s;
}

json::object to_json(const Spec& s) {
  json::array watch(s.watch.begin(), s.watch.end());
  json::array command(s.command.begin(), s.command.end());
  json::object env;
  for (const auto& [k, v] : s.env) env[k] = v;
  json::value lock = nullptr;
  if (s.lock) lock = *s.lock;
  return json::object{
      {"name", s.name},           {"watch", std::move(watch)},   {"command", std::move(command)},
      {"cwd", s.cwd},             {"env", std::move(env)},       {"settle_ms", s.settle_ms},
      {"max_wait_ms", s.max_wait_ms}, {"lock", std::move(lock)}, {"timeout_ms", s.timeout_ms},
      {"enabled", s.enabled},
  };
}

namespace {

std::optional<std::string> not_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
  if (::access(path.c_str(), X_OK) != 0) return path + " is not executable (" + std::strerror(errno) + ")";
  return std::nullopt;
}

}  // namespace

SpecChecks system_checks(std::string path_env) {
  SpecChecks c;
  c.find_command = [path_env = std::move(path_env)](const std::string& argv0) -> Result<std::string> {
    if (argv0[0] == '/') {
      if (auto why = not_executable(argv0)) return invalid_argument("command", *why);
      return argv0;
    }
    if (argv0.find('/') != std::string::npos) {
      return invalid_argument("command", "command[0] must be absolute, or a bare name found on the daemon's PATH: " + argv0);
    }
    // As execvp looks: each PATH entry in order (an empty one is the
    // working directory, which means nothing to a daemon: skipped).
    size_t at = 0;
    while (at <= path_env.size()) {
      size_t colon = path_env.find(':', at);
      if (colon == std::string::npos) colon = path_env.size();
      const std::string dir = path_env.substr(at, colon - at);
      at = colon + 1;
      if (dir.empty() || dir[0] != '/') continue;
      const std::string candidate = dir + "/" + argv0;
      if (!not_executable(candidate)) return candidate;
    }
    return invalid_argument("command", argv0 + " was not found on the daemon's PATH (" + path_env + ")");
  };
  c.dir_problem = [](const std::string& dir) -> std::optional<std::string> {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return dir + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
    if (::access(dir.c_str(), X_OK) != 0) return dir + ": " + std::strerror(errno);
    return std::nullopt;
  };
  return c;
}

}  // namespace hs::daemon::triggers
