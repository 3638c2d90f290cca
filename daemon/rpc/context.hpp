// What method handlers reach: the store (only through the sequencer), the
// hashing service for file work, and the daemon's identity.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/cancel.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/options.hpp"
#include "daemon/watch/file_watch.hpp"
#include "daemon/rpc/outcome.hpp"
#include "daemon/sequencer/sequencer.hpp"

namespace hs::daemon::net {
class Session;
}
namespace hs::daemon::live {
class Subscriptions;
}

namespace hs::daemon::rpc {

struct Context {
  boost::asio::io_context& io;
  sequencer::Sequencer& seq;
  hashing::Hasher& hasher;  // hashing files (daemon/hashing/hasher.hpp)
  watch::FileWatch& files;  // watching tracked files (daemon/watch/file_watch.hpp)
  locks::LockTable& locks;  // lock.* (daemon/locks/lock_table.hpp)
  const Options& opts;
  std::string state_file;
  std::string socket_path;
  std::string started_at;  // ISO local time
  std::chrono::steady_clock::time_point started;
  std::function<void()> request_shutdown;
  bool stopping = false;  // set once shutdown begins: new requests get -32000

  /// Hashing jobs started and not yet answered on the loop
  /// (daemon/hashing/jobs.hpp).
  size_t pending_jobs = 0;
  /// Called on the loop when pending_jobs drops to 0 (the server sets it
  /// while it waits to shut down).
  std::function<void()> on_jobs_done;
  /// state.subscribe's registry (daemon/live/subscriptions.hpp); set by the
  /// server, null where nothing serves subscriptions (unit rigs).
  live::Subscriptions* subs = nullptr;
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
