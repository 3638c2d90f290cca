// The trigger.* wrappers of harnesssync::Client (docs/PROTOCOL.md,
// "Triggers"): params from TriggerSpec, answers read without trusting more
// than the protocol promises.
#include <boost/json/array.hpp>

#include "client/src/errors.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {
namespace json = boost::json;
namespace {

using detail::protocol_error;

std::optional<std::string> str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<int64_t> int64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

bool flag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

Result<TriggerRun> run_of(const json::value& v, std::string_view method) {
  const json::object* o = v.if_object();
  if (o == nullptr || !int64(*o, "run")) return protocol_error(std::string(method) + ": a run without a number");
  TriggerRun r;
  r.run = *int64(*o, "run");
  r.started = str(*o, "started").value_or("");
  r.ended = str(*o, "ended");
  if (auto c = int64(*o, "exit_code")) r.exit_code = static_cast<int>(*c);
  if (auto s = int64(*o, "signal")) r.signal = static_cast<int>(*s);
  r.timed_out = flag(*o, "timed_out");
  r.coalesced = flag(*o, "coalesced");
  r.changed = int64(*o, "changed");
  r.duration_ms = int64(*o, "duration_ms").value_or(0);
  if (const json::value* out = o->if_contains("output"); out != nullptr && out->is_object()) {
    r.stdout_tail = str(out->get_object(), "stdout").value_or("");
    r.stderr_tail = str(out->get_object(), "stderr").value_or("");
  }
  return r;
}

Result<TriggerInfo> info_of(const json::value& v, std::string_view method) {
  const json::object* o = v.if_object();
  if (o == nullptr || !str(*o, "name")) return protocol_error(std::string(method) + ": a trigger without a name");
  TriggerInfo t;
  TriggerSpec& s = t.spec;
  s.name = *str(*o, "name");
  s.watch = strings(*o, "watch");
  s.command = strings(*o, "command");
  s.cwd = str(*o, "cwd");
  if (const json::value* env = o->if_contains("env"); env != nullptr && env->is_object()) {
    for (const auto& [k, val] : env->get_object()) {
      if (val.is_string()) s.env[std::string(k)] = std::string(val.get_string());
    }
  }
  s.settle_ms = int64(*o, "settle_ms");
  s.max_wait_ms = int64(*o, "max_wait_ms");
  s.timeout_ms = int64(*o, "timeout_ms");
  s.lock = str(*o, "lock");
  s.no_lock = !s.lock;
  s.enabled = flag(*o, "enabled");
  t.paused = flag(*o, "paused");
  t.state = str(*o, "state").value_or("");
  t.owed = flag(*o, "owed");
  t.runs = int64(*o, "runs").value_or(0);
  if (const json::value* last = o->if_contains("last"); last != nullptr && !last->is_null()) {
    auto r = run_of(*last, method);
    if (!r) return r.error();
    t.last = std::move(*r);
  }
  return t;
}

json::object name_param(const std::optional<std::string>& name) {
  json::object p;
  if (name) p["name"] = *name;
  return p;
}

Result<Done> true_result(Result<json::value> r, std::string_view method) {
  if (!r) return r.error();
  if (!r->is_bool() || !r->get_bool()) return protocol_error(std::string(method) + ": the answer is not true");
  return Done{};
}

}  // namespace

json::object trigger_set_params(const TriggerSpec& spec) {
  json::object p{{"name", spec.name},
                 {"watch", json::array(spec.watch.begin(), spec.watch.end())},
                 {"command", json::array(spec.command.begin(), spec.command.end())}};
  if (spec.cwd) p["cwd"] = *spec.cwd;
  if (!spec.env.empty()) {
    json::object env;
    for (const auto& [k, v] : spec.env) env[k] = v;
    p["env"] = std::move(env);
  }
  if (spec.settle_ms) p["settle_ms"] = *spec.settle_ms;
  if (spec.max_wait_ms) p["max_wait_ms"] = *spec.max_wait_ms;
  if (spec.timeout_ms) p["timeout_ms"] = *spec.timeout_ms;
  if (spec.no_lock) {
    p["lock"] = nullptr;
  } else if (spec.lock) {
    p["lock"] = *spec.lock;
  }
  if (spec.enabled) p["enabled"] = *spec.enabled;
  return p;
}

Result<TriggerInfo> Client::trigger_set(const TriggerSpec& spec) {
  auto r = call("trigger.set", trigger_set_params(spec));
  if (!r) return r.error();
  return info_of(*r, "trigger.set");
}

Result<Done> Client::trigger_remove(const std::string& name) {
  return true_result(call("trigger.remove", json::object{{"name", name}}), "trigger.remove");
}

Result<std::vector<TriggerInfo>> Client::trigger_list() {
  auto r = call("trigger.list");
  if (!r) return r.error();
  if (!r->is_array()) return protocol_error("trigger.list: the answer is not an array");
  std::vector<TriggerInfo> out;
  for (const auto& e : r->get_array()) {
    auto t = info_of(e, "trigger.list");
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

Result<int64_t> Client::trigger_run(const std::string& name) {
  auto r = call("trigger.run", json::object{{"name", name}});
  if (!r) return r.error();
  const json::object* o = r->if_object();
  auto n = o != nullptr ? int64(*o, "run") : std::nullopt;
  if (!n) return protocol_error("trigger.run: the answer has no run number");
  return *n;
}

Result<std::vector<TriggerRun>> Client::trigger_log(const std::string& name, int64_t runs) {
  auto r = call("trigger.log", json::object{{"name", name}, {"runs", runs}});
  if (!r) return r.error();
  if (!r->is_array()) return protocol_error("trigger.log: the answer is not an array");
  std::vector<TriggerRun> out;
  for (const auto& e : r->get_array()) {
    auto run = run_of(e, "trigger.log");
    if (!run) return run.error();
    out.push_back(std::move(*run));
  }
  return out;
}

Result<Done> Client::trigger_pause(const std::optional<std::string>& name) {
  return true_result(call("trigger.pause", name_param(name)), "trigger.pause");
}

Result<Done> Client::trigger_resume(const std::optional<std::string>& name) {
  return true_result(call("trigger.resume", name_param(name)), "trigger.resume");
}

Result<int64_t> Client::subscribe_triggers() {
  auto r = call("state.subscribe", json::object{{"triggers", true}});
  if (!r) return r.error();
  const json::object* o = r->if_object();
  auto id = o != nullptr ? int64(*o, "subscription") : std::nullopt;
  if (!id) return protocol_error("state.subscribe: the answer has no subscription");
  return *id;
}

}  // namespace harnesssync
