// hsctl status [TARGET]: every target's status, last sync and drift. The
// --json form has the fields of HarnessSync's /sync-status --json.
// --watch: the same, drawn again whenever the daemon reports a change
// (state.subscribe): in place on a terminal, a new table (or JSON line) per
// change otherwise, until Ctrl-C.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdarg>
#include <cstdio>
#include <iostream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/output.hpp"
#include "client/hsctl/trigger_text.hpp"

namespace hsctl {
namespace json = boost::json;

namespace {

// The targets HarnessSync syncs by default: reported as never synced when
// they have no entry.
constexpr const char* kUsualTargets[] = {"codex", "gemini", "opencode"};

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t num(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

// printf into a string: the table is made whole, then printed (or not).
__attribute__((format(printf, 2, 3))) void appendf(std::string& out, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  out.append(big.data(), static_cast<size_t>(n));
}

// The status as text (the table, or one JSON line), and its exit code; or
// an error's exit code, already reported, with no text.
struct Status {
  std::optional<std::string> text;
  int code = exit_code::ok;
};

Status render(Context& ctx, harnesssync::Client* c, const std::string& target_name);

}  // namespace

Action setup_status(CLI::App& sub, Context& ctx) {
  auto target = std::make_shared<std::string>();
  auto watch = std::make_shared<bool>(false);
  sub.add_option("TARGET", *target, "Only this target");
  sub.footer("Exit status 1 when any target drifted. Drift is computed by the daemon, which hashes the\n"
             "files each target recorded. --json: {ok, drift_detected, drift_targets, never_synced,\n"
             "last_sync, targets: {t: {status, last_sync, items_synced, items_failed, drift, drift_count}},\n"
             "triggers: [trigger.list's entries] when there are any}; ok is true when no target drifted and every target's\n"
             "last sync succeeded. Each trigger's state and last result follow the targets' table.\n"
             "--watch: redrawn live until Ctrl-C (exit 0; 3 when the daemon goes away); when\n"
             "standard output is not a terminal, a new table (with --json, a new line) per change.");
  sub.add_flag("--watch", *watch,
               "Draw it again whenever something changes (live, in place on a terminal), until Ctrl-C");
  return [&ctx, target, watch]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    if (!*watch) {
      Status st = render(ctx, c, *target);
      if (st.text) std::fputs(st.text->c_str(), stdout);
      return st.code;
    }
    // Live: drawn once now, then after each batch of notifications, when
    // it looks different (a drift that came and went between two draws,
    // or a record that changed nothing shown, draws nothing).
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    std::string last;
    // exit_code::ok, or the code of an error already reported.
    auto draw = [&]() -> int {
      Status st = render(ctx, c, *target);
      if (!st.text) return st.code;
      if (*st.text == last) return exit_code::ok;
      last = *st.text;
      if (tty) {
        std::fputs("\x1b[H\x1b[2J", stdout);  // home, clear screen
      } else if (!ctx.globals().json) {
        std::fputs("\n", stdout);  // tables apart
      }
      std::fputs(st.text->c_str(), stdout);
      std::fflush(stdout);
      return exit_code::ok;
    };
    c->on_notification([](std::string_view, const json::object&) {});  // what changed is read again by render
    std::vector<std::string> only;
    if (!target->empty()) only.push_back(*target);
    auto id = c->subscribe(only, ctx.account());
    if (!id) return ctx.fail(id.error());
    if (int rc = draw(); rc != exit_code::ok) return rc;
    return watch_until_stopped(ctx, *c, draw);
  };
}

namespace {

Status render(Context& ctx, harnesssync::Client* c, const std::string& target_name) {
  const std::string* target = &target_name;
  std::string out;
  auto doc = c->all();
  if (!doc) return Status{std::nullopt, ctx.fail(doc.error())};
  // The targets and last_sync of the top level, or of --account.
  const json::object* scope = &*doc;
  json::object empty;
  if (auto acct = ctx.account()) {
    const auto* accounts = doc->if_contains("accounts");
    const auto* a = accounts != nullptr && accounts->is_object() ? accounts->get_object().if_contains(*acct) : nullptr;
    scope = a != nullptr && a->is_object() ? &a->get_object() : &empty;
  }
  const auto* tv = scope->if_contains("targets");
  const json::object targets = tv != nullptr && tv->is_object() ? tv->get_object() : json::object();

  std::vector<std::string> names;
  if (!target->empty()) {
    if (targets.contains(*target)) names.push_back(*target);
  } else {
    for (const auto& kv : targets) names.emplace_back(kv.key());
  }
  json::array never;
  if (!target->empty()) {
    if (!targets.contains(*target)) never.emplace_back(*target);
  } else {
    for (const char* t : kUsualTargets) {
      if (!targets.contains(t)) never.emplace_back(t);
    }
  }

  json::object out_targets;
  json::array drift_targets;
  bool all_success = true;
  for (const auto& name : names) {
    // An entry that is not an object (another version's state) reads as empty.
    static const json::object kNoEntry;
    const json::object* entry = targets.at(name).if_object();
    const json::object& e = entry != nullptr ? *entry : kNoEntry;
    auto d = c->drift(name, std::nullopt, ctx.account());
    if (!d) return Status{std::nullopt, ctx.fail(d.error())};
    bool drift = !d->drifted.empty();
    if (drift) drift_targets.emplace_back(name);
    all_success &= str(e, "status") == "success";
    out_targets[name] = json::object{{"status", str(e, "status")},
                                     {"last_sync", str(e, "last_sync")},
                                     {"items_synced", num(e, "items_synced")},
                                     {"items_failed", num(e, "items_failed")},
                                     {"drift", drift},
                                     {"drift_count", static_cast<int64_t>(d->drifted.size())}};
  }
  const bool drift_detected = !drift_targets.empty();
  const std::string last_sync = str(*scope, "last_sync");

  if (ctx.globals().json) {
    json::object out_json;
    out_json["ok"] = !drift_detected && all_success;
    out_json["drift_detected"] = drift_detected;
    out_json["drift_targets"] = drift_targets;
    out_json["never_synced"] = never;
    out_json["last_sync"] = last_sync.empty() ? json::value(nullptr) : json::value(last_sync);
    out_json["targets"] = out_targets;
    // Each trigger's state and last result (trigger.list); absent when
    // there are none (HarnessSync's own shape), or the daemon has none.
    if (auto triggers = c->call("trigger.list"); triggers && triggers->is_array() && !triggers->get_array().empty()) {
      out_json["triggers"] = *triggers;
    }
    out += json::serialize(out_json) + "\n";
  } else {
    appendf(out, "last sync: %s%s\n", relative_time(last_sync).c_str(),
                ctx.account() ? (" (account " + *ctx.account() + ")").c_str() : "");
    if (!names.empty()) {
      appendf(out, "\n%-16s %-8s %-14s %7s %7s  %s\n", "TARGET", "STATUS", "LAST SYNC", "SYNCED", "FAILED", "DRIFT");
      for (const auto& name : names) {
        const json::object& t = out_targets.at(name).get_object();  // built above
        int64_t n = num(t, "drift_count");
        appendf(out, "%-16s %-8s %-14s %7lld %7lld  %s\n", name.c_str(), str(t, "status").c_str(),
                    relative_time(str(t, "last_sync")).c_str(), static_cast<long long>(num(t, "items_synced")),
                    static_cast<long long>(num(t, "items_failed")),
                    n == 0 ? "none" : count(n, "file", "files").c_str());
      }
    }
    for (const auto& t : never) appendf(out, "%-16s never synced\n", std::string(t.get_string()).c_str());
    if (drift_detected) appendf(out, "\ndrift found: 'hsctl drift TARGET' lists the files\n");
    if (auto triggers = c->trigger_list(); triggers && !triggers->empty()) {
      out += "\n" + trigger_table(*triggers);
    }
  }
  return Status{std::move(out), drift_detected ? exit_code::drift : exit_code::ok};
}

}  // namespace
}  // namespace hsctl
