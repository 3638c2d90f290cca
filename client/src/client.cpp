// harnesssync::Client (see include/harnesssync/client.hpp).
#include "harnesssync/client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "client/src/connection.hpp"
#include "client/src/errors.hpp"
#include "client/src/spawn.hpp"
#include "common/fs.hpp"
#include "common/real_path.hpp"
#include "common/socket_path.hpp"
#include "common/state_dir.hpp"
#include "proto/jsonrpc.hpp"

namespace harnesssync {
namespace json = boost::json;
namespace proto = hs::proto;
using detail::Connection;

namespace {

Error usage_error(std::string message) { return detail::make_error(Error::Kind::usage, std::move(message)); }
Error protocol_error(std::string message) { return detail::make_error(Error::Kind::protocol, std::move(message)); }

std::optional<std::string> opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

Result<std::string> resolve_state_dir(const ClientOptions& o) {
  auto dir = hs::resolve_state_dir(opt(o.state_dir));
  if (!dir) return usage_error(dir.error().message());
  return *dir;
}

bool spawn_disabled_by_env() {
  const char* v = std::getenv("HARNESSSYNC_NO_SPAWN");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

json::array to_array(const std::vector<std::string>& v) { return json::array(v.begin(), v.end()); }

std::vector<std::string> to_strings(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

json::object to_object(const std::vector<std::pair<std::string, std::string>>& kv) {
  json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

// The answer of `method`, which must be an object.
Result<json::object> object_result(Result<json::value> r, std::string_view method) {
  if (!r) return r.error();
  if (!r->is_object()) return protocol_error(std::string(method) + ": the answer is not an object");
  return std::move(r->get_object());
}

Result<Done> done_result(Result<json::value> r) {
  if (!r) return r.error();
  return Done{};
}

const json::value* member(const json::object& o, std::string_view key, json::kind kind) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->kind() == kind ? v : nullptr;
}

}  // namespace

Result<std::string> resolve_socket_path(const ClientOptions& opts) {
  auto dir = resolve_state_dir(opts);
  if (!dir) return dir.error();
  auto path = hs::resolve_socket_path(opt(opts.socket_path), *dir);
  if (!path) {
    const hs::Error& e = path.error();
    if (e.code == hs::Errc::invalid_argument) return usage_error("socket " + e.detail);
    // The private runtime dir is unusable (another user's, or open to
    // others): no daemon of ours can be reached there.
    return detail::make_error(Error::Kind::unreachable, "cannot find the socket: " + e.message());
  }
  return *path;
}

Result<Done> check_daemon_serves(const json::object& info, const std::string& socket_path,
                                 const std::string& state_dir) {
  // As harnesssync.Client.check_serves does it (docs/PROTOCOL.md, "Socket").
  const json::value* served = info.if_contains("state_file");
  if (served == nullptr || !served->is_string()) return protocol_error("daemon.info has no state_file");
  const std::string file(served->get_string());
  const auto slash = file.rfind('/');
  const std::string served_dir = slash == std::string::npos ? "" : file.substr(0, slash == 0 ? 1 : slash);
  if (hs::realpath_lenient(served_dir) == hs::realpath_lenient(state_dir)) return Done{};
  return detail::make_error(Error::Kind::wrong_daemon, "harnesssyncd at " + socket_path + " serves " + file +
                                                           ", not " + hs::fs::join(hs::pathlib_str(state_dir), "state.json"));
}

namespace {

bool named_state_dir(const ClientOptions& o) {
  if (!o.state_dir.empty()) return true;
  const char* env = std::getenv("HARNESSSYNC_HOME");
  return env != nullptr && *env != '\0';
}

}  // namespace

struct Client::Impl {
  Connection conn;
  std::string socket_path;
  bool started = false;
  std::chrono::milliseconds timeout;
  int64_t next_id = 1;
  std::function<void(std::string_view, const json::object&)> on_notification;
  bool in_handler = false;  // the handler runs: calls from it are refused

  /// One request and its answer, waited for until `deadline`.
  Result<json::value> call(std::string_view method, json::object params, detail::Deadline deadline);

  // A message that is not the answer we wait for: hand notifications on.
  void deliver(const json::value& msg) {
    if (!msg.is_object()) return;
    const auto& o = msg.get_object();
    if (o.contains("id") || !on_notification) return;
    const json::value* m = o.if_contains("method");
    const json::value* p = o.if_contains("params");
    if (m == nullptr || !m->is_string()) return;
    static const json::object kEmpty;
    in_handler = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{in_handler};
    on_notification(m->get_string(), p != nullptr && p->is_object() ? p->get_object() : kEmpty);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

const std::string& Client::socket_path() const { return impl_->socket_path; }
bool Client::started_daemon() const { return impl_->started; }

Result<Client> Client::connect(const ClientOptions& opts) {
  auto dir = resolve_state_dir(opts);
  if (!dir) return dir.error();
  auto path = resolve_socket_path(opts);
  if (!path) return path.error();
  int err = 0;
  auto conn = Connection::open(*path, detail::deadline_after(opts.timeout), &err);
  bool started = false;
  if (!conn && (err == ENOENT || err == ECONNREFUSED)) {
    if (!opts.autostart || spawn_disabled_by_env()) {
      Error e = conn.error();
      e.message += " (not starting it: " +
                   std::string(opts.autostart ? "HARNESSSYNC_NO_SPAWN is set" : "autostart is off") + ")";
      return e;
    }
    detail::SpawnPlan plan{*path, *dir, opts.daemon_path, detail::deadline_after(opts.spawn_timeout)};
    conn = detail::connect_spawning(plan, &started);
  }
  if (!conn) return conn.error();
  auto impl = std::make_unique<Impl>(Impl{std::move(*conn), *path, started, opts.timeout, 1, {}, false});
  Client client(std::move(impl));
  if (opts.check_state_dir.value_or(named_state_dir(opts))) {
    auto info = client.info();
    if (!info) return info.error();
    auto ok = check_daemon_serves(*info, *path, *dir);
    if (!ok) return ok.error();
  }
  return client;
}

void Client::on_notification(std::function<void(std::string_view, const json::object&)> handler) {
  impl_->on_notification = std::move(handler);
}

Result<boost::json::value> Client::call(std::string_view method, json::object params) {
  return impl_->call(method, std::move(params), detail::deadline_after(impl_->timeout));
}

Result<boost::json::value> Client::Impl::call(std::string_view method, json::object params, detail::Deadline deadline) {
  if (in_handler) {
    // Reading our answer from inside the handler would deliver the next
    // notifications from inside it too, and interleave with the read the
    // handler was called from.
    return usage_error(std::string(method) + ": called from the notification handler; call after it returns");
  }
  const int64_t id = next_id++;
  json::object req;
  req["jsonrpc"] = "2.0";
  req["id"] = id;
  req["method"] = method;
  if (!params.empty()) req["params"] = std::move(params);
  auto sent = conn.send(proto::encode_frame(proto::Framing::ndjson, json::serialize(req)), deadline);
  if (!sent) return sent.error();
  for (;;) {
    auto frame = conn.read_frame(deadline);
    if (!frame) return frame.error();
    if (!frame->ok() || !frame->value.is_object()) return protocol_error("harnesssyncd sent an answer that is not a JSON object");
    const json::value& msg = frame->value;
    const json::object& o = msg.get_object();
    const json::value* rid = o.if_contains("id");
    if (rid == nullptr) {
      deliver(msg);
      continue;
    }
    if (!(rid->is_int64() && rid->get_int64() == id)) {
      // An error about a message the daemon could not read (id null) is ours.
      if (!rid->is_null()) continue;
    }
    if (const json::value* err = o.if_contains("error"); err != nullptr && err->is_object()) {
      Error e;
      e.kind = Error::Kind::rpc;
      const auto& eo = err->get_object();
      if (const auto* c = eo.if_contains("code"); c != nullptr && c->is_int64()) e.code = static_cast<int>(c->get_int64());
      if (const auto* m = eo.if_contains("message"); m != nullptr && m->is_string()) e.message = m->get_string();
      if (const auto* d = eo.if_contains("data")) e.data = *d;
      return e;
    }
    if (const json::value* result = o.if_contains("result")) return *result;
    return protocol_error("harnesssyncd sent an answer with neither result nor error");
  }
}

Result<int> Client::poll_notifications(std::chrono::milliseconds wait) {
  if (impl_->in_handler) return usage_error("poll_notifications: called from the notification handler");
  int n = 0;
  auto deadline = detail::deadline_after(wait);
  for (;;) {
    // Once something was delivered, only what is already here: the caller
    // acts on a batch without waiting out the whole window.
    auto frame = impl_->conn.try_read_frame(n > 0 ? std::chrono::steady_clock::now() : deadline);
    if (!frame) return frame.error();
    if (!*frame) return n;
    if (!(*frame)->ok()) return protocol_error("harnesssyncd sent a notification that is not JSON");
    impl_->deliver((*frame)->value);
    ++n;
  }
}

Result<json::object> Client::info() { return object_result(call("daemon.info"), "daemon.info"); }

Result<Done> Client::ping() { return done_result(call("daemon.ping")); }

Result<Done> Client::shutdown() { return done_result(call("daemon.shutdown")); }

Result<json::object> Client::discover() { return object_result(call("rpc.discover"), "rpc.discover"); }

Result<json::object> Client::record(const RecordRequest& r) {
  json::object p;
  p["target"] = r.target;
  p["scope"] = r.scope;
  p["file_hashes"] = to_object(r.file_hashes);
  p["sync_methods"] = to_object(r.sync_methods);
  p["synced"] = r.synced;
  p["skipped"] = r.skipped;
  p["failed"] = r.failed;
  if (r.account) p["account"] = *r.account;
  return object_result(call("state.record", std::move(p)), "state.record");
}

Result<DriftReport> Client::drift(const std::string& target,
                                  const std::optional<std::vector<std::pair<std::string, std::string>>>& current,
                                  const std::optional<std::string>& account) {
  json::object p;
  p["target"] = target;
  if (current) p["current_hashes"] = to_object(*current);
  if (account) p["account"] = *account;
  auto o = object_result(call("state.drift", std::move(p)), "state.drift");
  if (!o) return o.error();
  DriftReport d;
  if (const auto* t = member(*o, "target", json::kind::string)) d.target = t->get_string();
  if (const auto* t = member(*o, "tracked", json::kind::bool_)) d.tracked = t->get_bool();
  d.drifted = to_strings(o->if_contains("drifted"));
  d.changed = to_strings(o->if_contains("changed"));
  d.added = to_strings(o->if_contains("added"));
  d.removed = to_strings(o->if_contains("removed"));
  if (const auto* errs = member(*o, "errors", json::kind::array)) {
    for (const auto& e : errs->get_array()) {
      if (!e.is_object()) continue;
      const auto* path = member(e.get_object(), "path", json::kind::string);
      const auto* why = member(e.get_object(), "reason", json::kind::string);
      if (path != nullptr && why != nullptr) {
        d.errors.emplace_back(std::string(path->get_string()), std::string(why->get_string()));
      }
    }
  }
  return d;
}

Result<std::optional<json::object>> Client::target(const std::string& target,
                                                   const std::optional<std::string>& account) {
  json::object p{{"target", target}};
  if (account) p["account"] = *account;
  auto r = call("state.target", std::move(p));
  if (r && r->is_null()) return std::optional<json::object>();
  auto o = object_result(std::move(r), "state.target");
  if (!o) return o.error();
  return std::optional<json::object>(std::move(*o));
}

Result<json::object> Client::all() { return object_result(call("state.all"), "state.all"); }

Result<bool> Client::clear(const std::string& target, const std::optional<std::string>& account) {
  json::object p{{"target", target}};
  if (account) p["account"] = *account;
  auto o = object_result(call("state.clear", std::move(p)), "state.clear");
  if (!o) return o.error();
  const auto* c = member(*o, "cleared", json::kind::bool_);
  if (c == nullptr) return protocol_error("state.clear: no cleared");
  return c->get_bool();
}

Result<AcceptResult> Client::accept(const std::string& target, const std::vector<std::string>& paths,
                                    const std::optional<std::string>& account) {
  json::object p{{"target", target}, {"paths", to_array(paths)}};
  if (account) p["account"] = *account;
  auto o = object_result(call("state.accept", std::move(p)), "state.accept");
  if (!o) return o.error();
  return AcceptResult{to_strings(o->if_contains("updated")), to_strings(o->if_contains("removed"))};
}

Result<MigrateResult> Client::migrate_cc2all(const std::optional<std::string>& old_state_dir) {
  json::object p;
  if (old_state_dir) p["old_state_dir"] = *old_state_dir;
  auto o = object_result(call("state.migrate_cc2all", std::move(p)), "state.migrate_cc2all");
  if (!o) return o.error();
  MigrateResult m;
  if (const auto* b = member(*o, "migrated", json::kind::bool_)) m.migrated = b->get_bool();
  if (const auto* ls = member(*o, "last_sync", json::kind::string)) m.last_sync = std::string(ls->get_string());
  return m;
}

Result<std::map<std::string, std::optional<std::string>>> Client::hash_files(const std::vector<std::string>& paths) {
  auto o = object_result(call("hash.files", json::object{{"paths", to_array(paths)}}), "hash.files");
  if (!o) return o.error();
  std::map<std::string, std::optional<std::string>> m;
  for (const auto& [k, h] : *o) {
    m[std::string(k)] = h.is_string() ? std::optional<std::string>(std::string(h.get_string())) : std::nullopt;
  }
  return m;
}

Result<int64_t> Client::subscribe(const std::vector<std::string>& targets, const std::optional<std::string>& account) {
  json::object p;
  if (!targets.empty()) p["targets"] = to_array(targets);
  if (account) p["account"] = *account;
  auto o = object_result(call("state.subscribe", std::move(p)), "state.subscribe");
  if (!o) return o.error();
  const auto* sub = member(*o, "subscription", json::kind::int64);
  if (sub == nullptr) return protocol_error("state.subscribe: no subscription");
  return sub->get_int64();
}

Result<Done> Client::unsubscribe(int64_t subscription) {
  return done_result(call("state.unsubscribe", json::object{{"subscription", subscription}}));
}

Result<LockResult> Client::lock_acquire(const std::string& name, int64_t wait_ms, bool coalesce) {
  json::object p{{"name", name}, {"wait_ms", wait_ms}};
  if (coalesce) p["coalesce"] = true;
  // The answer comes when the wait ends: allow for it on top of the timeout.
  // An unbounded wait has no deadline (adding it would overflow the clock).
  auto deadline = wait_ms >= kWaitForever ? detail::Deadline::max()
                                          : detail::deadline_after(impl_->timeout + std::chrono::milliseconds(wait_ms));
  auto o = object_result(impl_->call("lock.acquire", std::move(p), deadline), "lock.acquire");
  if (!o) return o.error();
  const auto* a = member(*o, "acquired", json::kind::bool_);
  if (a == nullptr) return protocol_error("lock.acquire: no \"acquired\"");
  LockResult l;
  l.acquired = a->get_bool();
  if (const auto* c = member(*o, "coalesced", json::kind::bool_)) l.coalesced = c->get_bool();
  if (const auto* h = member(*o, "holder_pid", json::kind::int64)) l.holder_pid = h->get_int64();
  if (const auto* d = member(*o, "owed", json::kind::bool_)) l.owed = d->get_bool();
  return l;
}

Result<Done> Client::lock_release(const std::string& name) {
  return done_result(call("lock.release", json::object{{"name", name}}));
}

Result<std::vector<LockInfo>> Client::lock_list() {
  auto r = call("lock.list");
  if (!r) return r.error();
  if (!r->is_array()) return protocol_error("lock.list: the answer is not an array");
  std::vector<LockInfo> out;
  for (const auto& e : r->get_array()) {
    const json::object* o = e.if_object();
    const json::value* name = o != nullptr ? member(*o, "name", json::kind::string) : nullptr;
    if (name == nullptr) return protocol_error("lock.list: an entry without a name");
    LockInfo info;
    info.name = name->get_string();
    if (const auto* h = member(*o, "holder_pid", json::kind::int64)) info.holder_pid = h->get_int64();
    if (const auto* h = member(*o, "held_ms", json::kind::int64)) info.held_ms = h->get_int64();
    if (const auto* w = o->if_contains("waiting"); w != nullptr && w->is_number()) info.waiting = w->to_number<int64_t>();
    if (const auto* d = member(*o, "owed", json::kind::bool_)) info.owed = d->get_bool();
    out.push_back(std::move(info));
  }
  return out;
}

Result<LockGuard> LockGuard::acquire(Client& client, std::string name, int64_t wait_ms, bool coalesce) {
  auto r = client.lock_acquire(name, wait_ms, coalesce);
  if (!r) return r.error();
  return LockGuard(client, std::move(name), *r);
}

LockGuard::LockGuard(LockGuard&& o) noexcept
    : client_(o.client_), name_(std::move(o.name_)), result_(o.result_), held_(std::exchange(o.held_, false)) {}

LockGuard& LockGuard::operator=(LockGuard&& o) noexcept {
  if (this != &o) {
    (void)release();
    client_ = o.client_;
    name_ = std::move(o.name_);
    result_ = o.result_;
    held_ = std::exchange(o.held_, false);
  }
  return *this;
}

LockGuard::~LockGuard() { (void)release(); }

Result<Done> LockGuard::release() {
  if (!held_) return Done{};
  held_ = false;
  return client_->lock_release(name_);
}

// HarnessSync's other sections: accounts, plugins, dry run, health scores.

namespace {

Result<HealthEntry> health_entry(const json::value& v, std::string_view method) {
  const json::object* o = v.if_object();
  const json::value* score = o != nullptr ? o->if_contains("score") : nullptr;
  if (score == nullptr || !score->is_number()) return protocol_error(std::string(method) + ": an entry without a score");
  HealthEntry e;
  e.score = score->to_number<double>();
  if (const auto* t = member(*o, "timestamp", json::kind::string)) e.timestamp = t->get_string();
  if (const auto* l = member(*o, "label", json::kind::string)) e.label = l->get_string();
  return e;
}

}  // namespace

Result<std::optional<json::object>> Client::account(const std::string& account) {
  auto r = call("state.account", json::object{{"account", account}});
  if (r && r->is_null()) return std::optional<json::object>();
  auto o = object_result(std::move(r), "state.account");
  if (!o) return o.error();
  return std::optional<json::object>(std::move(*o));
}

Result<std::vector<std::string>> Client::accounts() {
  auto r = call("state.accounts");
  if (!r) return r.error();
  if (!r->is_array()) return protocol_error("state.accounts: the answer is not an array");
  return to_strings(&*r);
}

Result<int64_t> Client::plugins_record(const json::object& plugins, const std::optional<std::string>& account) {
  json::object p{{"plugins", plugins}};
  if (account) p["account"] = *account;
  auto o = object_result(call("plugins.record", std::move(p)), "plugins.record");
  if (!o) return o.error();
  const auto* n = member(*o, "plugins", json::kind::int64);
  if (n == nullptr) return protocol_error("plugins.record: no plugins count");
  return n->get_int64();
}

Result<json::object> Client::plugins_status(const std::optional<std::string>& account) {
  json::object p;
  if (account) p["account"] = *account;
  return object_result(call("plugins.status", std::move(p)), "plugins.status");
}

Result<std::vector<std::pair<std::string, std::string>>> Client::plugins_drift(
    const json::object& current, const std::optional<std::string>& account) {
  json::object p{{"current", current}};
  if (account) p["account"] = *account;
  auto o = object_result(call("plugins.drift", std::move(p)), "plugins.drift");
  if (!o) return o.error();
  const auto* d = member(*o, "drift", json::kind::object);
  if (d == nullptr) return protocol_error("plugins.drift: no drift");
  // json::object keeps the daemon's order, which is meaningful here.
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, why] : d->get_object()) {
    if (!why.is_string()) return protocol_error("plugins.drift: a reason that is not a string");
    out.emplace_back(std::string(name), std::string(why.get_string()));
  }
  return out;
}

Result<bool> Client::dry_run(std::optional<bool> enabled) {
  json::object p;
  if (enabled) p["enabled"] = *enabled;
  auto o = object_result(call("settings.dry_run", std::move(p)), "settings.dry_run");
  if (!o) return o.error();
  const auto* f = member(*o, "global_dry_run", json::kind::bool_);
  if (f == nullptr) return protocol_error("settings.dry_run: no global_dry_run");
  return f->get_bool();
}

Result<HealthEntry> Client::health_record(const std::string& target, double score, const std::string& label) {
  // Integral scores within double's exact range go as integers: HarnessSync
  // stores an int score as an int, and readers of the file may tell them apart.
  constexpr double kExact = 9007199254740992.0;  // 2^53
  json::value s;
  // (NaN fails both comparisons.)
  if (score >= -kExact && score <= kExact && static_cast<double>(static_cast<int64_t>(score)) == score) {
    s = static_cast<int64_t>(score);
  } else {
    s = score;  // NaN and infinities go too: the daemon refuses them (-32602)
  }
  auto r = call("health.record", json::object{{"target", target}, {"score", std::move(s)}, {"label", label}});
  if (!r) return r.error();
  return health_entry(*r, "health.record");
}

Result<std::vector<HealthEntry>> Client::health_history(const std::string& target, int64_t n) {
  auto r = call("health.history", json::object{{"target", target}, {"n", n}});
  if (!r) return r.error();
  if (!r->is_array()) return protocol_error("health.history: the answer is not an array");
  std::vector<HealthEntry> out;
  for (const auto& v : r->get_array()) {
    auto e = health_entry(v, "health.history");
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace harnesssync
