#include "client/hsctl/trigger_text.hpp"

#include <cstdio>
#include <cstring>

namespace hsctl {
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
