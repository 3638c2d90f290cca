// hsctl status [TARGET]: every target's status, last sync and drift. The
// --json form has the fields of HarnessSync's /sync-status --json.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/output.hpp"

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

}  // namespace

Action setup_status(CLI::App& sub, Context& ctx) {
  auto target = std::make_shared<std::string>();
  sub.add_option("TARGET", *target, "Only this target");
  sub.footer("Exit status 1 when any target drifted. Drift is computed by the daemon, which hashes the\n"
             "files each target recorded. --json: {ok, drift_detected, drift_targets, never_synced,\n"
             "last_sync, targets: {t: {status, last_sync, items_synced, items_failed, drift, drift_count}}};\n"
             "ok is true when no target drifted and every target's last sync succeeded.");
  return [&ctx, target]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto doc = c->all();
    if (!doc) return ctx.fail(doc.error());
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
      if (!d) return ctx.fail(d.error());
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
      json::object out;
      out["ok"] = !drift_detected && all_success;
      out["drift_detected"] = drift_detected;
      out["drift_targets"] = drift_targets;
      out["never_synced"] = never;
      out["last_sync"] = last_sync.empty() ? json::value(nullptr) : json::value(last_sync);
      out["targets"] = out_targets;
      Context::print_json(out);
    } else {
      std::printf("last sync: %s%s\n", relative_time(last_sync).c_str(),
                  ctx.account() ? (" (account " + *ctx.account() + ")").c_str() : "");
      if (!names.empty()) {
        std::printf("\n%-16s %-8s %-14s %7s %7s  %s\n", "TARGET", "STATUS", "LAST SYNC", "SYNCED", "FAILED", "DRIFT");
        for (const auto& name : names) {
          const json::object& t = out_targets.at(name).get_object();  // built above
          int64_t n = num(t, "drift_count");
          std::printf("%-16s %-8s %-14s %7lld %7lld  %s\n", name.c_str(), str(t, "status").c_str(),
                      relative_time(str(t, "last_sync")).c_str(), static_cast<long long>(num(t, "items_synced")),
                      static_cast<long long>(num(t, "items_failed")),
                      n == 0 ? "none" : count(n, "file", "files").c_str());
        }
      }
      for (const auto& t : never) std::printf("%-16s never synced\n", std::string(t.get_string()).c_str());
      if (drift_detected) std::printf("\ndrift found: 'hsctl drift TARGET' lists the files\n");
    }
    return drift_detected ? exit_code::drift : exit_code::ok;
  };
}

}  // namespace hsctl
