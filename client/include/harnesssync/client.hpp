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
#include <vector>

#include <harnesssync/options.hpp>
#include <harnesssync/result.hpp>
#include <harnesssync/triggers.hpp>
#include <harnesssync/types.hpp>

namespace harnesssync {

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

  // Triggers (docs/PROTOCOL.md, "Triggers"; src/triggers.cpp).
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

/// trigger.set's params for `spec`: what Client::trigger_set sends (for a
/// caller that wants the raw answer, as `hsctl --json trigger set` does).
boost::json::object trigger_set_params(const TriggerSpec& spec);

}  // namespace harnesssync

// LockGuard holds a Client&: declared after it, and part of this header's API.
#include <harnesssync/lock_guard.hpp>
