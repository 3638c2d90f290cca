// harnesssync client library: a synchronous connection to harnesssyncd.
//
// The protocol it speaks is docs/PROTOCOL.md. One Client is one connection
// to the daemon; requests on it are answered in order of the calls.
//
// Thread safety: a Client is not thread-safe; use one per thread (or guard
// it). Distinct Clients are independent. Nothing here starts threads.
//
// Notifications (after subscribe()): the handler given to on_notification()
// is called on the thread that is inside call() (any typed wrapper) or
// poll_notifications() on this Client, synchronously, in the order the
// daemon sent them; never from anywhere else, so nothing arrives while the
// Client is idle: call poll_notifications() to wait for them. The handler
// must not call this Client (a call from inside it fails with
// Error::Kind::usage): note what arrived, and act once the call or the poll
// has returned. A subscriber that does not poll is bounded by the daemon
// (docs/PROTOCOL.md, "A subscriber that does not keep up"): it is resynced
// when it reads again.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace harnesssync {

/// Why a call failed.
struct Error {
  enum class Kind {
    rpc,          // the daemon answered with a JSON-RPC error: see code, data
    unreachable,  // no daemon answers on the socket (and none could be started)
    spawn_failed, // the daemon was started but could not start up: message is its reason
    timeout,      // no answer within the timeout
    protocol,     // the daemon's bytes were not a valid answer, or it closed the connection
    usage,        // the caller passed something invalid (e.g. an unreadable --hashes file)
    wrong_daemon, // the daemon on the socket serves another state dir than the one named
  };
  Kind kind = Kind::protocol;
  int code = 0;              // JSON-RPC error code when kind == rpc
  std::string message;       // one line, for people
  boost::json::value data;   // JSON-RPC error data when kind == rpc (else null)
};

/// A value or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// REQUIRES: ok()
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// REQUIRES: !ok()
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// For calls that return nothing.
struct Done {};

struct ClientOptions {
  /// The socket; empty: $HARNESSSYNC_SOCKET, else <runtime dir>/harnesssync/
  /// <name> as docs/PROTOCOL.md ("Socket") says, as the daemon does: the
  /// runtime dir is $XDG_RUNTIME_DIR, else a private ${TMPDIR:-/tmp}/
  /// harnesssync-<uid> (made 0700 here when missing); <name> is
  /// harnesssyncd.sock for ~/.harnesssync, else one derived from the state dir.
  std::string socket_path;
  /// The state dir; empty: $HARNESSSYNC_HOME, else ~/.harnesssync.
  std::string state_dir;
  /// After connecting, check (daemon.info's state_file) that the daemon
  /// serves the state dir, failing with Kind::wrong_daemon when not. Unset:
  /// check when a state dir was named (state_dir, or $HARNESSSYNC_HOME).
  std::optional<bool> check_state_dir;
  /// Start the daemon when nobody answers (also off when HARNESSSYNC_NO_SPAWN=1).
  bool autostart = true;
  /// The harnesssyncd to start; empty: the one next to this program, else $PATH.
  std::string daemon_path;
  /// Per call: connecting, and waiting for each answer.
  std::chrono::milliseconds timeout{10000};
  /// Waiting for a started daemon to be ready.
  std::chrono::milliseconds spawn_timeout{10000};
};

/// The socket path by the rules above (no connection is made).
/// Fails (Kind::usage) when it is longer than a Unix socket address holds,
/// or (Kind::unreachable) when the private runtime dir is not ours alone.
Result<std::string> resolve_socket_path(const ClientOptions& opts);

/// The check of ClientOptions::check_state_dir on a daemon.info answer:
/// Kind::wrong_daemon (one line naming both) when its state_file is not in
/// `state_dir` (compared as real paths), Kind::protocol when it has none.
Result<Done> check_daemon_serves(const boost::json::object& info, const std::string& socket_path,
                                 const std::string& state_dir);

struct RecordRequest {
  std::string target;
  std::string scope = "all";
  std::vector<std::pair<std::string, std::string>> file_hashes;   // {path, hash}, in order
  std::vector<std::pair<std::string, std::string>> sync_methods;  // {path, method}
  int64_t synced = 0, skipped = 0, failed = 0;
  std::optional<std::string> account;
};

struct DriftReport {
  std::string target;
  bool tracked = false;
  std::vector<std::string> drifted, changed, added, removed;
  std::vector<std::pair<std::string, std::string>> errors;  // {path, reason}
};

struct AcceptResult {
  std::vector<std::string> updated, removed;
};

struct MigrateResult {
  bool migrated = false;
  std::optional<std::string> last_sync;
};

/// One health score of a target, as health.record stores it.
struct HealthEntry {
  std::string timestamp;  // local ISO time, as the state file holds it
  double score = 0;       // clamped to 0..100
  std::string label;
};

/// lock.acquire's answer. holder_pid: the holder now (this process when
/// acquired); nullopt when the daemon could not read its pid.
struct LockResult {
  bool acquired = false;
  /// Not acquired because another coalescing caller already waits: its run
  /// covers this one (docs/PROTOCOL.md, lock.acquire).
  bool coalesced = false;
  std::optional<int64_t> holder_pid;
  /// Granted with a debt: a covering caller left without running, so this
  /// run must also do the work of those it covered (a daemon of issue 17).
  bool owed = false;
};

/// One row of lock.list.
struct LockInfo {
  std::string name;
  std::optional<int64_t> holder_pid;
  int64_t held_ms = 0;
  int64_t waiting = 0;  // callers queued for it
  bool owed = false;    // a run is owed: see LockResult::owed
};

/// lock.acquire's wait_ms that waits without bound (about 31 years or more).
inline constexpr int64_t kWaitForever = int64_t{1} << 40;

/// trigger.set's params (docs/PROTOCOL.md, "Triggers"): what the daemon
/// runs, and when. Unset optionals take the daemon's defaults.
struct TriggerSpec {
  std::string name;
  std::vector<std::string> watch;    // absolute; a directory covers everything below it
  std::vector<std::string> command;  // argv; command[0] absolute, or a name on the daemon's PATH
  std::optional<std::string> cwd;    // default: the state dir
  std::map<std::string, std::string> env;
  std::optional<int64_t> settle_ms, max_wait_ms, timeout_ms;
  std::optional<std::string> lock;  // default "sync" (unless no_lock)
  bool no_lock = false;             // run without a lock
  std::optional<bool> enabled;
};

/// One run of a trigger, as trigger.log shows it.
struct TriggerRun {
  int64_t run = 0;
  std::string started;
  std::optional<std::string> ended;
  std::optional<int> exit_code;  // nullopt: killed by a signal, or never started
  std::optional<int> signal;
  bool timed_out = false;
  bool coalesced = false;          // a waiting caller of its lock covered it: it did not start
  std::optional<int64_t> changed;  // paths on its stdin; nullopt: "*" (unknown)
  int64_t duration_ms = 0;
  std::string stdout_tail, stderr_tail;  // trigger.log only: the last 64 KiB of each
};

/// One trigger, as trigger.list shows it: its definition (command[0]
/// resolved, defaults filled in) and its state.
struct TriggerInfo {
  TriggerSpec spec;
  bool paused = false;
  std::string state;  // idle, settling, waiting_lock, running, backing_off or paused
  bool owed = false;  // a run is due
  int64_t runs = 0;   // since it was set
  std::optional<TriggerRun> last;
};

class Client {
 public:
  /// Connects to the daemon; when nobody answers and autostart is on, starts
  /// it (once, however many clients race to) and waits until it is ready.
  /// Fails with Kind::unreachable, Kind::spawn_failed (message: the daemon's
  /// own reason), Kind::timeout, Kind::usage, or Kind::wrong_daemon (see
  /// ClientOptions::check_state_dir).
  static Result<Client> connect(const ClientOptions& opts = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  /// The socket this client is connected to.
  const std::string& socket_path() const;
  /// True when connect() started the daemon.
  bool started_daemon() const;

  /// Sends one request and waits for its answer: the result, or an Error
  /// (Kind::rpc with the daemon's code, message and data; or transport kinds).
  /// Notifications that arrive meanwhile go to the notification handler.
  Result<boost::json::value> call(std::string_view method, boost::json::object params = {});

  /// Called with (method, params) for each notification from the daemon
  /// (state.changed, state.drifted after state.subscribe), during call() or
  /// poll_notifications(), on that caller's thread (see the top of this
  /// file). Without a handler, notifications are dropped.
  void on_notification(std::function<void(std::string_view, const boost::json::object&)> handler);
  /// Waits up to `wait` for notifications and delivers them; returns how
  /// many. Returns early once at least one was delivered and no more are
  /// waiting. Kind::protocol when the daemon closed the connection.
  Result<int> poll_notifications(std::chrono::milliseconds wait);

  // Typed wrappers, one per method of docs/PROTOCOL.md. Each fails as call().
  Result<boost::json::object> info();                       // daemon.info
  Result<Done> ping();                                      // daemon.ping
  Result<Done> shutdown();                                  // daemon.shutdown
  Result<boost::json::object> discover();                   // rpc.discover
  Result<boost::json::object> record(const RecordRequest&); // state.record: the stored entry
  /// state.drift: `current_hashes` null makes the daemon hash the stored paths.
  Result<DriftReport> drift(const std::string& target,
                            const std::optional<std::vector<std::pair<std::string, std::string>>>& current_hashes,
                            const std::optional<std::string>& account = std::nullopt);
  /// state.target: the entry, or nullopt when the target has none.
  Result<std::optional<boost::json::object>> target(const std::string& target,
                                                    const std::optional<std::string>& account = std::nullopt);
  Result<boost::json::object> all();                        // state.all
  /// state.clear: whether there was an entry.
  Result<bool> clear(const std::string& target, const std::optional<std::string>& account = std::nullopt);
  Result<AcceptResult> accept(const std::string& target, const std::vector<std::string>& paths,
                              const std::optional<std::string>& account = std::nullopt);
  Result<MigrateResult> migrate_cc2all(const std::optional<std::string>& old_state_dir = std::nullopt);
  /// hash.files: {path: sha256 hex, or nullopt when missing or unreadable}.
  Result<std::map<std::string, std::optional<std::string>>> hash_files(const std::vector<std::string>& paths);
  /// state.subscribe: the subscription id. `targets` empty: every target of
  /// the scope (the top-level targets, or `account`'s), present now or
  /// recorded later. The first state.drifted of each subscribed tracked
  /// target follows at once, then state.changed / state.drifted as things
  /// change (docs/PROTOCOL.md, "state.subscribe").
  Result<int64_t> subscribe(const std::vector<std::string>& targets = {},
                            const std::optional<std::string>& account = std::nullopt);
  /// state.unsubscribe: Kind::rpc -32602 for an id this connection does not hold.
  Result<Done> unsubscribe(int64_t subscription);
  /// lock.acquire: takes the named lock for this connection (it is released
  /// by lock_release, or when this Client is destroyed), waiting up to
  /// `wait_ms` (0: try once; kWaitForever: no bound) in FIFO order. The
  /// answer is awaited for wait_ms plus the timeout. A lock this connection
  /// already holds or waits for is an rpc error -32602. See LockGuard.
  Result<LockResult> lock_acquire(const std::string& name, int64_t wait_ms = 0, bool coalesce = false);
  /// lock.release: an rpc error with code 2 when this connection does not hold it.
  Result<Done> lock_release(const std::string& name);
  /// lock.list: every lock held or waited for, by name.
  Result<std::vector<LockInfo>> lock_list();

  // HarnessSync's other sections (docs/PROTOCOL.md, "HarnessSync's other sections").
  /// state.account: the account's object as stored, or nullopt when it has none.
  Result<std::optional<boost::json::object>> account(const std::string& account);
  /// state.accounts: the account names, sorted.
  Result<std::vector<std::string>> accounts();
  /// plugins.record: replaces the whole plugins section (top level, or the
  /// account's) with `plugins` {name: object}; returns how many it holds.
  Result<int64_t> plugins_record(const boost::json::object& plugins,
                                 const std::optional<std::string>& account = std::nullopt);
  /// plugins.status: the stored plugins {name: object}, empty when none.
  Result<boost::json::object> plugins_status(const std::optional<std::string>& account = std::nullopt);
  /// plugins.drift: {name, reason} for each plugin of `current` {name: object}
  /// that differs from the stored ones, in the daemon's order (removed first).
  Result<std::vector<std::pair<std::string, std::string>>> plugins_drift(
      const boost::json::object& current, const std::optional<std::string>& account = std::nullopt);
  /// settings.dry_run: sets the global dry-run flag when `enabled` is given,
  /// else reads it; returns the flag.
  Result<bool> dry_run(std::optional<bool> enabled = std::nullopt);
  /// health.record: the stored entry (score clamped to 0..100). An integral
  /// `score` is sent as a JSON integer, so it is stored as one (as
  /// HarnessSync stores an int).
  Result<HealthEntry> health_record(const std::string& target, double score, const std::string& label = "");
  /// health.history: the last `n` (1 to 90) entries of `target`, oldest first.
  Result<std::vector<HealthEntry>> health_history(const std::string& target, int64_t n = 30);

  // Triggers (docs/PROTOCOL.md, "Triggers"; client/src/triggers.cpp).
  /// trigger.set: creates or replaces; the trigger as stored, once durable.
  /// A bad param is an rpc error -32602 whose data names the field.
  Result<TriggerInfo> trigger_set(const TriggerSpec& spec);
  /// trigger.remove: an rpc error with code 2 when there is none of that name.
  Result<Done> trigger_remove(const std::string& name);
  /// trigger.list, sorted by name.
  Result<std::vector<TriggerInfo>> trigger_list();
  /// trigger.run: runs it now, or once more after the run in progress;
  /// returns the number of the run that covers this request (its
  /// trigger.finished says how it ended).
  Result<int64_t> trigger_run(const std::string& name);
  /// trigger.log: the last `runs` (1 to 100) runs, oldest first, with output.
  Result<std::vector<TriggerRun>> trigger_log(const std::string& name, int64_t runs = 10);
  /// trigger.pause / trigger.resume of one trigger, or (nullopt) of all.
  Result<Done> trigger_pause(const std::optional<std::string>& name = std::nullopt);
  Result<Done> trigger_resume(const std::optional<std::string>& name = std::nullopt);
  /// state.subscribe {"triggers": true}: also trigger.started and
  /// trigger.finished (and state.* of every top-level target).
  Result<int64_t> subscribe_triggers();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A named lock held for a scope: acquired by acquire(), released when the
/// guard is destroyed (or by release()). The lock belongs to the Client's
/// connection, so it is also released if the process dies. The Client must
/// outlive the guard.
///
///   auto g = harnesssync::LockGuard::acquire(client, "sync", 30000);
///   if (!g) return g.error();       // the daemon failed or was unreachable
///   if (!g->acquired()) return busy(g->result().holder_pid);
///   run_sync();                      // released at the end of the scope
class LockGuard {
 public:
  /// Asks for the lock (Client::lock_acquire). A busy lock is not an error:
  /// the guard then holds nothing (acquired() false).
  static Result<LockGuard> acquire(Client& client, std::string name, int64_t wait_ms = 0, bool coalesce = false);

  LockGuard(LockGuard&& o) noexcept;
  LockGuard& operator=(LockGuard&& o) noexcept;
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  /// Releases the lock if held; a failure is ignored (the connection's end
  /// releases it anyway).
  ~LockGuard();

  bool acquired() const { return held_; }
  explicit operator bool() const { return held_; }
  const LockResult& result() const { return result_; }
  const std::string& name() const { return name_; }
  /// Releases now (idempotent: Done when nothing is held).
  Result<Done> release();

 private:
  LockGuard(Client& c, std::string name, LockResult r) : client_(&c), name_(std::move(name)), result_(r), held_(r.acquired) {}
  Client* client_;
  std::string name_;
  LockResult result_;
  bool held_ = false;
};

}  // namespace harnesssync
