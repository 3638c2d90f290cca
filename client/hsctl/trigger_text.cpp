#include "client/hsctl/trigger_text.hpp"

#include <boost/json/array.hpp>
#include <cstdio>
#include <cstring>

namespace hsctl {
namespace json = boost::json;
namespace {

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string indented(const std::string& text, const char* label) {
  if (text.empty()) return "";
  std::string out = std::string("  ") + label + ":\n";
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out += "    " + text.substr(at, nl - at) + "\n";
    at = nl + 1;
  }
  return out;
}

}  // namespace

json::object trigger_params(const harnesssync::TriggerSpec& spec) {
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

std::string result_text(const harnesssync::TriggerRun& r) {
  if (r.coalesced) return "coalesced";
  if (!r.ended) return "running";
  std::string out;
  if (r.exit_code) out = "exit " + std::to_string(*r.exit_code);
  if (r.signal) out = "killed by " + signal_name(*r.signal);
  if (r.timed_out) out = "timed out (" + (r.signal ? signal_name(*r.signal) : out) + ")";
  return out.empty() ? "ended" : out;
}

std::string describe(const harnesssync::TriggerInfo& t) {
  const auto& s = t.spec;
  std::string out = "trigger " + s.name + ": runs " + joined(s.command, " ") + "\n";
  out += "  when these change: " + joined(s.watch, " ") + "\n";
  out += "  settle " + std::to_string(s.settle_ms.value_or(0)) + " ms, max-wait " +
         std::to_string(s.max_wait_ms.value_or(0)) + " ms, " + (s.lock ? "lock " + *s.lock : "no lock") +
         ", timeout " + std::to_string(s.timeout_ms.value_or(0) / 1000) + " s\n";
  out += "  in " + s.cwd.value_or("?");
  for (const auto& [k, v] : s.env) out += ", " + k + "=" + v;
  out += "\n";
  if (s.enabled && !*s.enabled) out += "  disabled: runs only on 'hsctl trigger run'\n";
  if (t.paused) out += "  paused\n";
  return out;
}

std::string trigger_table(const std::vector<harnesssync::TriggerInfo>& all) {
  if (all.empty()) return "no triggers\n";
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-12s %6s  %s\n", "NAME", "STATE", "RUNS", "LAST");
  out += line;
  for (const auto& t : all) {
    std::string last = "-";
    if (t.last) last = result_text(*t.last) + " at " + t.last->started;
    std::string state = t.state + (t.owed && t.state == "idle" ? "*" : "");
    std::snprintf(line, sizeof line, "%-24s %-12s %6lld  %s\n", t.spec.name.c_str(), state.c_str(),
                  static_cast<long long>(t.runs), last.c_str());
    out += line;
  }
  return out;
}

std::string run_text(const harnesssync::TriggerRun& r, bool with_output) {
  std::string out = "run " + std::to_string(r.run) + "  " + r.started + "  " + result_text(r);
  out += r.changed ? "  " + std::to_string(*r.changed) + " changed" : std::string("  * changed");
  if (r.ended && !r.coalesced) out += "  " + std::to_string(r.duration_ms) + " ms";
  out += "\n";
  if (with_output) out += indented(r.stdout_tail, "stdout") + indented(r.stderr_tail, "stderr");
  return out;
}

int wait_exit_code(const harnesssync::TriggerRun& r) {
  if (r.coalesced) return 0;
  if (r.timed_out) return 124;
  if (r.signal) return 128 + *r.signal;
  return r.exit_code.value_or(127);
}

}  // namespace hsctl
