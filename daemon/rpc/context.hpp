// What method handlers reach: the store (only through the sequencer), the
// services for file work, locks and subscriptions, the connection limits,
// and the daemon's identity. The root (daemon/run.cpp) fills it in.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/cancel.hpp"
#include "daemon/hashing/drift_checker.hpp"
#include "daemon/hashing/jobs.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/net/limits.hpp"
#include "daemon/rpc/outcome.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/watch/file_watch.hpp"

namespace hs::daemon::net {
class Session;
}
namespace hs::daemon::live {
class Subscriptions;
}
namespace hs::daemon::triggers {
class Service;
}

namespace hs::daemon::rpc {

struct Context {
  boost::asio::io_context& io;
  sequencer::Sequencer& seq;
  hashing::Jobs& jobs;             // hashing files off the loop (daemon/hashing/jobs.hpp)
  hashing::DriftChecker& drift;    // state.drift against the disk (daemon/hashing/drift_checker.hpp)
  watch::FileWatch& files;         // watching tracked files (daemon/watch/file_watch.hpp)
  locks::LockTable& locks;         // lock.* (daemon/locks/lock_table.hpp)
  const net::Limits& limits;       // max_batch, for the dispatcher
  std::string state_file;
  std::string socket_path;
  std::string started_at;  // ISO local time
  std::chrono::steady_clock::time_point started;
  std::function<void()> request_shutdown;
  bool stopping = false;  // set once shutdown begins: new requests get -32000
  /// state.subscribe's registry (daemon/live/subscriptions.hpp); null where
  /// nothing serves subscriptions (unit rigs).
  live::Subscriptions* subs = nullptr;
  /// trigger.*'s triggers (daemon/triggers/service.hpp); null where none
  /// are served (unit rigs, or triggers.json could not be read).
  triggers::Service* triggers = nullptr;
};

/// One method call: its params, the cancellation of its connection, where
/// the answer goes (a no-op for notifications), and the connection itself,
/// for methods that attach something to it (net::Session::resources(): a
/// subscription, a lock). Weak: a handler that finishes later must not keep
/// a closed connection alive.
struct Call {
  boost::json::object params;
  CancelToken cancel;
  Reply reply;
  std::weak_ptr<net::Session> session = {};
};

}  // namespace hs::daemon::rpc
