// What method handlers reach: the store (only through the sequencer), the
// hashing service for file work, and the daemon's identity.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "daemon/cancel.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/options.hpp"
#include "daemon/watch/file_watch.hpp"
#include "daemon/outcome.hpp"
#include "daemon/sequencer.hpp"

namespace hs::daemon {

class Session;
class Subscriptions;
namespace triggers {
class Service;
}

struct Context {
  boost::asio::io_context& io;
  Sequencer& seq;
  Hasher& hasher;                      // hashing files (daemon/hashing/hasher.hpp)
  FileWatch& files;                    // watching tracked files (daemon/watch/file_watch.hpp)
  LockTable& locks;                    // lock.* (daemon/locks/lock_table.hpp)
  const Options& opts;
  std::string state_file;
  std::string socket_path;
  std::string started_at;  // ISO local time
  std::chrono::steady_clock::time_point started;
  std::function<void()> request_shutdown;
  bool stopping = false;  // set once shutdown begins: new requests get -32000

  /// Hashing jobs started and not yet answered on the loop
  /// (methods/hashing.hpp).
  size_t pending_jobs = 0;
  /// Called on the loop when pending_jobs drops to 0 (the server sets it
  /// while it waits to shut down).
  std::function<void()> on_jobs_done;
  /// state.subscribe's registry (daemon/live/subscriptions.hpp); set by the
  /// server, null where nothing serves subscriptions (unit rigs).
  Subscriptions* subs = nullptr;
  /// trigger.*'s triggers (daemon/triggers/service.hpp); null where none
  /// are served (unit rigs, or triggers.json could not be read).
  triggers::Service* triggers = nullptr;
};

/// One method call: its params, the cancellation of its connection, where
/// the answer goes (a no-op for notifications), and the connection itself,
/// for methods that attach something to it (Session::resources(): a
/// subscription, a lock). Weak: a handler that finishes later must not keep
/// a closed connection alive.
struct Call {
  boost::json::object params;
  CancelToken cancel;
  Reply reply;
  std::weak_ptr<Session> session = {};
};

}  // namespace hs::daemon
