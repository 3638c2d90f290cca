// The method table (see method_table.hpp).
#include "daemon/rpc/method_table.hpp"

#include <boost/json/parse.hpp>
#include <unordered_map>

#include "common/version.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
namespace {

using proto::ParamType;
constexpr std::string_view kEntry = R"({"type": ["object", "null"], "description": "a target entry (docs/STATE.md), or null"})";

constexpr std::span<const ParamDoc> kNone{};
constexpr ParamDoc kTargetOnly[] = {
    {"target", true, ParamType::name, "target name"},
    {"account", false, ParamType::name, "account (schema v2); absent: the top-level targets"},
};
// Rows are checked in order: account right after target, as a TargetRef.
constexpr ParamDoc kRecord[] = {
    {"target", true, ParamType::name, "target name"},
    {"account", false, ParamType::name, "account (schema v2)"},
    {"scope", true, ParamType::string, "sync scope: all, user, project, ..."},
    {"file_hashes", true, ParamType::path_map, "{path: sha256 hex} of the synced files"},
    {"sync_methods", false, ParamType::path_map, "{path: method} (default {})"},
    {"synced", true, ParamType::count, "items synced"},
    {"skipped", true, ParamType::count, "items skipped"},
    {"failed", true, ParamType::count, "items failed"},
};
constexpr ParamDoc kDrift[] = {
    {"target", true, ParamType::name, "target name"},
    {"account", false, ParamType::name, "account (schema v2)"},
    {"current_hashes", false, ParamType::path_map, "{path: hash} now; absent: the daemon hashes the stored paths"},
};
constexpr ParamDoc kAccept[] = {
    {"target", true, ParamType::name, "target name"},
    {"account", false, ParamType::name, "account (schema v2)"},
    {"paths", true, ParamType::paths, "paths whose files on disk become the new baseline"},
};
constexpr ParamDoc kMigrate[] = {
    {"old_state_dir", false, ParamType::path, "the old cc2all dir (default ~/.cc2all)"},
};
constexpr ParamDoc kHash[] = {
    {"paths", true, ParamType::paths, "files to hash"},
};
constexpr ParamDoc kAccountOnly[] = {
    {"account", true, ParamType::name, "account name"},
};
constexpr ParamDoc kOptAccount[] = {
    {"account", false, ParamType::name, "account (schema v2); absent: the top-level plugins"},
};
constexpr ParamDoc kPluginsRecord[] = {
    {"plugins", true, ParamType::object_map, "the whole plugins section: {name: {version, mcp_count, ...}}"},
    {"account", false, ParamType::name, "account (schema v2); absent: the top-level plugins"},
};
constexpr ParamDoc kPluginsDrift[] = {
    {"current", true, ParamType::object_map, "the plugins now: {name: {version, mcp_count, ...}}"},
    {"account", false, ParamType::name, "account (schema v2); absent: the top-level plugins"},
};
constexpr ParamDoc kDryRun[] = {
    {"enabled", false, ParamType::boolean, "sets the flag when given; absent: reads it"},
};
constexpr ParamDoc kHealthRecord[] = {
    {"target", true, ParamType::name, "target name"},
    {"score", true, ParamType::number, "the score; stored clamped to 0..100 (ints stay ints)"},
    {"label", false, ParamType::string, "a label (default \"\")"},
};
constexpr ParamDoc kHealthHistory[] = {
    {"target", true, ParamType::name, "target name"},
    {"n", false, ParamType::history_n, "how many of the newest entries (default 30)"},
};
constexpr ParamDoc kSubscribe[] = {
    {"targets", false, ParamType::names,
     "target names (not empty); absent: every target of the scope, present now or recorded later"},
    {"account", false, ParamType::name, "account (schema v2); absent: the top-level targets"},
    {"triggers", false, ParamType::boolean, "also send trigger.started and trigger.finished (default false)"},
};
constexpr ParamDoc kUnsubscribe[] = {
    {"subscription", true, ParamType::count, "an id state.subscribe gave this connection"},
};
constexpr ParamDoc kLockAcquire[] = {
    {"name", true, ParamType::name, "lock name (the rule of target names)"},
    {"wait_ms", false, ParamType::count,
     "how long to wait for a busy lock, in ms (default 0: try once; 2^40 or more: no bound)"},
    {"coalesce", false, ParamType::boolean,
     "when busy and another coalescing caller already waits, answer coalesced at once: its run covers this one"},
};
constexpr ParamDoc kLockName[] = {
    {"name", true, ParamType::name, "lock name"},
};
constexpr ParamDoc kTriggerSet[] = {
    {"name", true, ParamType::name, "trigger name (the rule of lock names)"},
    {"watch", true, ParamType::watch_paths, "absolute paths, 1 to 256; a directory covers everything below it"},
    {"command", true, ParamType::argv, "argv; command[0] absolute, or found on the daemon's PATH (stored resolved)"},
    {"cwd", false, ParamType::abs_path, "working directory (default: the state dir)"},
    {"env", false, ParamType::env_map, "added to the daemon's environment"},
    {"settle_ms", false, ParamType::settle_ms, "a run starts this long after the last change (default 300)"},
    {"max_wait_ms", false, ParamType::duration_ms,
     "... or this long after the first, whichever comes first (default 3000, at least settle_ms)"},
    {"lock", false, ParamType::lock_or_null, "the lock a run holds, as a coalescing caller (default \"sync\"; null: none)"},
    {"timeout_ms", false, ParamType::duration_ms,
     "past it the command's group gets SIGTERM, then SIGKILL 5 s later (default 600000; at least 1)"},
    {"enabled", false, ParamType::boolean, "false: not watched; runs only on trigger.run (default true)"},
};
constexpr ParamDoc kTriggerName[] = {
    {"name", true, ParamType::name, "trigger name"},
};
constexpr ParamDoc kTriggerOptName[] = {
    {"name", false, ParamType::name, "trigger name; absent: every trigger"},
};
constexpr ParamDoc kTriggerLog[] = {
    {"name", true, ParamType::name, "trigger name"},
    {"runs", false, ParamType::log_runs, "how many of the last runs (default 10)"},
};
constexpr std::string_view kTriggerEntry =
    R"({"type": "object", "required": ["name", "watch", "command", "cwd", "env", "settle_ms", "max_wait_ms", "lock", "timeout_ms", "enabled", "paused", "state", "owed", "runs", "last"], "properties": {"state": {"enum": ["idle", "settling", "waiting_lock", "running", "backing_off", "paused"]}}})";
constexpr std::string_view kHealthEntry =
    R"({"type": "object", "required": ["timestamp", "score", "label"], "properties": {"timestamp": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 100}, "label": {"type": "string"}}})";

constexpr MethodSpec kMethods[] = {
    {"daemon.info", "The daemon's name, version, protocol, pid, paths, uptime and methods.", kNone,
     R"({"type": "object"})", daemon_info},
    {"daemon.ping", "Liveness check: answers \"pong\".", kNone, R"({"const": "pong"})", daemon_ping},
    {"daemon.shutdown",
     "Answers true, then stops accepting, finishes the write in flight, answers -32000 to newer "
     "requests, removes its socket and exits 0.",
     kNone, R"({"const": true})", daemon_shutdown},
    {"rpc.discover", "This OpenRPC 1.2 document.", kNone, R"({"type": "object"})", rpc_discover},
    {"state.record", "Records a sync: replaces the target's entry; answered once durable.", kRecord,
     R"({"type": "object", "description": "the stored entry, with target added"})", state_record},
    {"state.drift", "Compares a target's stored hashes with the caller's, or with the files on disk.",
     kDrift,
     R"({"type": "object", "required": ["target", "tracked", "drifted", "changed", "added", "removed", "errors"]})",
     state_drift},
    {"state.target", "A target's entry, or null.", kTargetOnly, kEntry, state_target},
    {"state.all", "The whole state document.", kNone, R"({"type": "object"})", state_all},
    {"state.clear", "Removes a target's entry.", kTargetOnly,
     R"({"type": "object", "properties": {"cleared": {"type": "boolean"}}})", state_clear},
    {"state.accept", "Takes the files on disk as the new baseline for the given paths.", kAccept,
     R"({"type": "object", "properties": {"updated": {"type": "array"}, "removed": {"type": "array"}}})",
     state_accept},
    {"state.migrate_cc2all", "Copies last_sync from a cc2all state dir, if there is one.", kMigrate,
     R"({"type": "object", "properties": {"migrated": {"type": "boolean"}, "last_sync": {"type": ["string", "null"]}}})",
     state_migrate_cc2all},
    {"hash.files", "SHA-256 of files: {path: hex, or null when missing or not a readable regular file}.",
     kHash, R"({"type": "object", "additionalProperties": {"type": ["string", "null"]}})", hash_files},
    {"state.account", "An account's object (last_sync, targets, plugins, ...) as stored, or null.", kAccountOnly,
     R"({"type": ["object", "null"]})", state_account},
    {"state.accounts", "The account names, sorted.", kNone, R"({"type": "array", "items": {"type": "string"}})",
     state_accounts},
    {"plugins.record", "Replaces the whole plugins section (top level, or the account's); nothing else changes.",
     kPluginsRecord, R"({"type": "object", "properties": {"plugins": {"type": "integer", "minimum": 0}}})",
     plugins_record},
    {"plugins.status", "The stored plugins (top level, or the account's), {} when none.", kOptAccount,
     R"({"type": "object"})", plugins_status},
    {"plugins.drift",
     "Plugin drift against the stored plugins: {name: \"removed\" | \"added\" | \"version_changed: OLD -> NEW\" | "
     "\"mcp_count_changed: OLD -> NEW\"}.",
     kPluginsDrift,
     R"({"type": "object", "properties": {"drift": {"type": "object", "additionalProperties": {"type": "string"}}}})",
     plugins_drift},
    {"settings.dry_run", "The global dry-run flag: sets it when enabled is given, else reads it (absent: false).",
     kDryRun, R"({"type": "object", "properties": {"global_dry_run": {"type": "boolean"}}})", settings_dry_run},
    {"health.record", "Appends a health score to the target's history (the last 90 are kept).", kHealthRecord,
     kHealthEntry, health_record},
    {"health.history", "The last n health scores of a target, oldest first.", kHealthHistory,
     R"({"type": "array", "items": {"type": "object"}})", health_history},
    {"state.subscribe",
     "Subscribes this connection to state.changed and state.drifted notifications; the first state.drifted of "
     "each subscribed tracked target follows the answer at once. Ends with the connection.",
     kSubscribe,
     R"({"type": "object", "required": ["subscription"], "properties": {"subscription": {"type": "integer", "minimum": 1}}})",
     state_subscribe},
    {"state.unsubscribe", "Ends one of this connection's subscriptions.", kUnsubscribe, R"({"const": true})",
     state_unsubscribe},
    {"lock.acquire",
     "Takes a named lock for this connection (released when it closes), waiting up to wait_ms in FIFO order.",
     kLockAcquire,
     R"({"type": "object", "required": ["acquired", "coalesced", "holder_pid", "owed"], "properties": {"acquired": {"type": "boolean"}, "coalesced": {"type": "boolean"}, "holder_pid": {"type": ["integer", "null"]}, "owed": {"type": "boolean"}}})",
     lock_acquire},
    {"lock.release", "Releases a lock this connection holds (error 2 when it holds none of that name).", kLockName,
     R"({"const": true})", lock_release},
    {"lock.list", "Every lock held, waited for or owed a run: name, holder_pid, held_ms, waiting, waiters, owed.",
     kNone,
     R"({"type": "array", "items": {"type": "object", "required": ["name", "holder_pid", "held_ms", "waiting", "owed"]}})",
     lock_list},
    {"trigger.set",
     "Creates or replaces a trigger: a command the daemon runs when watched files change, settled, one run at a "
     "time, under a lock; answered once durable.",
     kTriggerSet, kTriggerEntry, trigger_set},
    {"trigger.remove", "Removes a trigger (a run in progress finishes); error 2 when there is none of that name.",
     kTriggerName, R"({"const": true})", trigger_remove},
    {"trigger.list", "Every trigger, sorted by name: its definition, state, runs and last run.", kNone,
     R"({"type": "array", "items": {"type": "object"}})", trigger_list},
    {"trigger.run", "Runs a trigger now (no settle), or once more after the run in progress.", kTriggerName,
     R"({"type": "object", "required": ["queued", "run"], "properties": {"queued": {"const": true}, "run": {"type": "integer", "minimum": 1}}})",
     trigger_run},
    {"trigger.log", "A trigger's last runs, oldest first, with the last 64 KiB of each output stream.", kTriggerLog,
     R"({"type": "array", "items": {"type": "object", "required": ["run", "started", "ended", "exit_code", "signal", "timed_out", "coalesced", "changed", "output"]}})",
     trigger_log},
    {"trigger.pause", "Pauses a trigger (or all): changes are still noted, nothing runs.", kTriggerOptName,
     R"({"const": true})", trigger_pause},
    {"trigger.resume", "Resumes a trigger (or all): one with changes noted while paused runs once, settled.",
     kTriggerOptName, R"({"const": true})", trigger_resume},
};

}  // namespace

std::span<const MethodSpec> method_table() { return kMethods; }

const MethodSpec* find_method(std::string_view name) {
  static const auto index = [] {
    std::unordered_map<std::string_view, const MethodSpec*> m;
    for (const auto& spec : kMethods) m.emplace(spec.name, &spec);
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

json::object openrpc_document() {
  json::array methods;
  for (const auto& m : kMethods) {
    json::array params;
    for (const auto& p : m.params) {
      params.push_back(json::object{{"name", p.name},
                                    {"required", p.required},
                                    {"description", p.description},
                                    {"schema", json::parse(proto::param_schema(p.type))}});
    }
    methods.push_back(json::object{
        {"name", m.name},
        {"summary", m.summary},
        {"paramStructure", "by-name"},
        {"params", std::move(params)},
        {"result", json::object{{"name", "result"}, {"schema", json::parse(m.result_schema)}}},
    });
  }
  return json::object{
      {"openrpc", "1.2.6"},
      {"info", json::object{{"title", "harnesssyncd"}, {"version", kVersion}}},
      {"methods", std::move(methods)},
  };
}

std::optional<proto::RpcError> validate_params(const MethodSpec& spec, const json::object& params) {
  for (const auto& p : spec.params) {
    const json::value* v = params.if_contains(p.name);
    if (v == nullptr) {
      if (p.required) return proto::missing_param(p.name);
      continue;
    }
    if (auto e = proto::check_param(p.type, p.name, *v)) return e;
  }
  for (const auto& kv : params) {
    bool known = false;
    for (const auto& p : spec.params) known |= kv.key() == p.name;
    // Methods without params refuse any too, so a typo is not ignored.
    if (!known) return proto::unknown_param(kv.key());
  }
  return std::nullopt;
}

void call_method(const MethodSpec& spec, Context& ctx, Call&& call) {
  if (auto e = validate_params(spec, call.params)) return call.reply(std::move(*e));
  spec.handler(ctx, std::move(call));
}

}  // namespace hs::daemon::rpc
