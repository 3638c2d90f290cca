// hsctl watch [TARGET...]: drift as it happens (state.subscribe). Human
// lines ("codex: ~/.codex/AGENTS.md changed", "codex: clean again"), or with
// --json one notification's params per line. Ctrl-C (SIGINT, SIGTERM) ends
// it with status 0; the daemon going away ends it with one line and status 3.
// Also the loop under `hsctl status --watch` (watch_until_stopped).
#include <signal.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) { g_stop = 1; }

// SIGINT/SIGTERM set a flag the loop checks between short waits; without
// SA_RESTART a wait in progress is cut short (the library polls again for
// the rest of its window, at most kPollWindow).
void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

constexpr std::chrono::milliseconds kPollWindow{200};

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

// ~/x for paths under $HOME: shorter lines, as people think of them.
std::string shown(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return path;
  std::string h(home);
  if (path.size() > h.size() && path.compare(0, h.size(), h) == 0 && path[h.size()] == '/') {
    return "~" + path.substr(h.size());
  }
  return path;
}

// What the human form has shown of one target: its drifted paths.
struct Shown {
  std::map<std::string, std::string> paths;  // path -> "changed" | "removed" | "unreadable: why"
  bool any = false;                          // a drift was shown already
};

class HumanPrinter {
 public:
  void notification(std::string_view method, const json::object& p) {
    auto target = string_member(p, "target");
    auto account = string_member(p, "account");
    const std::string name = target ? (account ? *account + "/" + *target : *target) : "state";
    if (method == "state.changed") {
      auto kind = string_member(p, "kind").value_or("changed");
      // After "reloaded" (another writer, or a resync after this watcher fell
      // behind) the drifts that follow are whole again: show them afresh.
      if (kind == "reloaded") shown_.clear();
      if (kind == "cleared" && target) shown_.erase(name);
      std::printf("%s: %s\n", name.c_str(), kind_text(kind).c_str());
      return;
    }
    if (method != "state.drifted" || !target) return;
    std::map<std::string, std::string> now;
    for (const auto& path : strings(p, "changed")) now[path] = "changed";
    for (const auto& path : strings(p, "removed")) now[path] = "removed";
    if (const auto* errs = p.if_contains("errors"); errs != nullptr && errs->is_array()) {
      for (const auto& e : errs->get_array()) {
        if (!e.is_object()) continue;
        auto path = string_member(e.get_object(), "path");
        if (path) now[*path] = "unreadable: " + string_member(e.get_object(), "reason").value_or("?");
      }
    }
    Shown& was = shown_[name];
    if (now.empty()) {
      if (!was.any) {
        std::printf("%s: clean\n", name.c_str());
      } else if (!was.paths.empty()) {
        std::printf("%s: clean again\n", name.c_str());
      }
    } else {
      for (const auto& [path, what] : now) {
        auto it = was.paths.find(path);
        if (it == was.paths.end() || it->second != what) std::printf("%s: %s %s\n", name.c_str(), shown(path).c_str(), what.c_str());
      }
      for (const auto& [path, what] : was.paths) {
        if (now.count(path) == 0) std::printf("%s: %s clean again\n", name.c_str(), shown(path).c_str());
      }
    }
    was.paths = std::move(now);
    was.any = true;
  }

 private:
  static std::string kind_text(const std::string& kind) {
    if (kind == "recorded") return "sync recorded";
    if (kind == "cleared") return "sync record cleared";
    if (kind == "accepted") return "files accepted as the new baseline";
    if (kind == "migrated") return "migrated from cc2all";
    if (kind == "plugins") return "plugins recorded";
    if (kind == "dry_run") return "dry-run flag changed";
    if (kind == "health") return "health score recorded";
    if (kind == "reloaded") return "state reloaded (showing every target again)";
    return kind;
  }
  std::map<std::string, Shown> shown_;
};

}  // namespace

int watch_until_stopped(Context&, harnesssync::Client& c, const std::function<int()>& after_batch) {
  catch_stop_signals();
  while (g_stop == 0) {
    auto n = c.poll_notifications(kPollWindow);
    if (!n) {
      if (g_stop != 0) break;
      std::fprintf(stderr, "hsctl: harnesssyncd went away (%s); stopped watching\n", n.error().message.c_str());
      return exit_code::unreachable;
    }
    if (*n == 0 || !after_batch) continue;
    if (int rc = after_batch(); rc != exit_code::ok) return rc;
  }
  return exit_code::ok;
}

Action setup_watch(CLI::App& sub, Context& ctx) {
  auto targets = std::make_shared<std::vector<std::string>>();
  sub.add_option("TARGET", *targets, "Only these targets (default: every target, also ones recorded later)");
  sub.footer(
      "Prints each target's drift at once, then every change as it happens, until Ctrl-C.\n"
      "Lines: 'codex: ~/.codex/AGENTS.md changed' (or removed, or unreadable: why), 'codex: clean',\n"
      "'codex: clean again', and 'codex: sync recorded' for changes to the state.\n"
      "--json: one line per notification, its params as the daemon sent them (docs/PROTOCOL.md):\n"
      "state.drifted {subscription, target, account?, changed, removed, errors}, or state.changed\n"
      "{subscription, target, account?, kind, last_sync}.\n"
      "Exit status 0 after Ctrl-C (SIGINT or SIGTERM); 3 when the daemon goes away.");
  return [&ctx, targets]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    HumanPrinter human;
    const bool as_json = ctx.globals().json;
    c->on_notification([&](std::string_view method, const json::object& params) {
      if (as_json) {
        Context::print_json(params);
      } else {
        human.notification(method, params);
      }
      std::fflush(stdout);  // a pipe reader sees each line as it happens
    });
    auto id = c->subscribe(*targets, ctx.account());
    if (!id) return ctx.fail(id.error());
    return watch_until_stopped(ctx, *c, nullptr);
  };
}

}  // namespace hsctl
