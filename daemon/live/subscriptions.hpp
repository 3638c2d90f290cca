// state.subscribe's registry (docs/PROTOCOL.md, "Notifications"): who is
// subscribed to what, the drift last sent to each, and each connection's
// mailbox. Owned by the daemon's root (run.cpp), reached by handlers as
// rpc::Context::subs; all of it runs on the event loop.
//
// A target's drift is computed once (hashing::DriftChecker, exactly what
// state.drift answers) and its text shared by every subscriber; each subscription is
// sent it only when it differs from the last one sent to it, except the
// first one and after a resync. Drift is checked again when
//   - FileWatch reports the target's files dirty (its interest key is
//     "target" or "account/target"),
//   - a durable record, accept or clear names the target,
//   - state.json was reloaded or migrated (every subscribed target),
//   - a connection is resynced (its subscribed targets).
// Checks of one target never overlap: one asked for while one runs is run
// once after it, and the running one's (older) result is not sent.
//
// "All targets" (no `targets` param) means every target of the
// subscription's scope (the top-level targets, or the account's), present
// now or recorded later.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/cancel.hpp"
#include "daemon/live/mailbox.hpp"
#include "daemon/hashing/drift_checker.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/store/drift.hpp"
#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::net {
class Session;
}

namespace hs::daemon::live {

class Subscriptions {
 public:
  /// Subscriptions one connection may hold at once.
  static constexpr size_t kMaxPerConnection = 64;
  /// A connection's mailbox moves into its output only while less than
  /// this is unsent: notifications never push a reading client towards
  /// the output cap, and a non-reader holds at most this much of them.
  static constexpr size_t kOutputLow = 64 * 1024;

  /// Durable changes come from `seq`, dirty targets from `files`; drift is
  /// checked by `drift`.
  Subscriptions(boost::asio::io_context& io, sequencer::Sequencer& seq, watch::FileWatch& files,
                hashing::DriftChecker& drift);
  ~Subscriptions();
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  /// Hooks into the Sequencer (durable changes) and FileWatch (dirty keys).
  void start();
  /// Shutdown: drift checks in progress are cancelled, none start.
  void stop();

  /// A new subscription of `session`; nullopt past kMaxPerConnection.
  /// `targets` nullopt: all targets of the scope (see the top). `triggers`:
  /// also trigger.started and trigger.finished.
  std::optional<uint64_t> add(const std::shared_ptr<net::Session>& session, std::optional<std::string> account,
                              std::optional<std::vector<std::string>> targets, bool triggers = false);
  /// Sends the first state.drifted of each tracked target `id` covers.
  /// Called after the subscribe answer is queued, so that it comes first.
  void start_initial(uint64_t id);
  /// Ends subscription `id` of connection `session_id`; false when that
  /// connection has no such subscription.
  bool remove(uint64_t session_id, uint64_t id);

  /// For daemon.info: {"count": subscriptions, "connections": connections
  /// holding one or more, "targets": targets watched for them, "resyncs":
  /// resyncs sent so far}.
  boost::json::object info() const;

  // Entry points (public for tests; the hooks call them).
  void on_durable(const sequencer::ChangeNote& note, const store::StateStore& s);
  void on_dirty(const std::vector<std::string>& keys);
  /// A trigger notification (trigger.started, trigger.finished), sent to
  /// every subscription that asked for them, with its "subscription".
  void on_trigger(const char* method, const boost::json::object& params);

 private:
  struct Ref {
    std::string target;
    std::optional<std::string> account;
  };
  struct Sub {
    uint64_t id = 0;
    uint64_t conn = 0;
    std::optional<std::string> account;
    std::optional<std::set<std::string>> targets;  // nullopt: all
    bool triggers = false;                              // trigger.* too
    std::map<std::string, proto::JsonText> last_sent;  // key -> drift body last queued
  };
  struct Conn {
    std::weak_ptr<net::Session> session;
    std::vector<uint64_t> subs;
    Mailbox box;
  };
  struct KeyState {
    Ref ref;
    bool in_flight = false;
    bool again = false;
    bool watching = false;
    std::vector<std::string> paths;  // what FileWatch was given
    // The check in flight, shared by every subscription covering the key:
    // cancelled when the last of them leaves (or at stop), so that nobody
    // keeps hashing a huge file for no one.
    CancelSource cancel;
  };
  using Which = std::function<bool(const Sub&)>;

  static std::string key_of(const Ref& r);
  static bool covers(const Sub& s, const Ref& r);
  bool covered(const Ref& r) const;
  /// Checks the drift of `refs` (those some subscription covers) and of
  /// every target covered by the subscriptions `whole` selects; `first`
  /// runs before, in the same read of the durable state.
  void refresh(std::vector<Ref> refs, Which whole = {},
               std::function<void(const store::StateStore&)> first = {});
  void start_check(const std::string& key, const Ref& ref, std::optional<boost::json::object> entry);
  void checked(const std::string& key, std::optional<store::DriftReport> report);
  void settle_untracked(const std::string& key);
  void release_unwatched();
  Conn& conn_for(const std::shared_ptr<net::Session>& session);
  void drop_conn(uint64_t conn);
  void pump(uint64_t conn);
  void resync(uint64_t conn);

  boost::asio::io_context& io_;
  sequencer::Sequencer& seq_;
  watch::FileWatch& files_;
  hashing::DriftChecker& drift_;
  CancelSource cancel_;  // its owner() is every check's, for the Hasher's turns
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // late callbacks check it
  std::map<uint64_t, Sub> subs_;
  std::map<uint64_t, Conn> conns_;
  std::map<std::string, KeyState> keys_;
  uint64_t next_id_ = 0;
  uint64_t resyncs_ = 0;
  bool stopped_ = false;
};

}  // namespace hs::daemon::live
