// What method handlers reach: the store (only through the sequencer), the
// pool for blocking file work, and the daemon's identity.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "daemon/options.hpp"
#include "daemon/outcome.hpp"
#include "daemon/sequencer.hpp"

namespace hs::daemon {

class Session;

struct Context {
  boost::asio::io_context& io;
  Sequencer& seq;
  boost::asio::thread_pool& blocking;  // hashing: never on the event loop
  const Options& opts;
  std::string state_file;
  std::string socket_path;
  std::string started_at;  // ISO local time
  std::chrono::steady_clock::time_point started;
  std::function<void()> request_shutdown;
  bool stopping = false;  // set once shutdown begins: new requests get -32000

  /// Runs `work` on the blocking pool, then `reply(work())` back on the loop.
  template <class Work>
  void offload(Work work, Reply reply) {
    boost::asio::post(blocking, [this, work = std::move(work), reply = std::move(reply)]() mutable {
      Outcome out = work();
      boost::asio::post(io, [reply = std::move(reply), out = std::move(out)]() mutable { reply(std::move(out)); });
    });
  }
};

/// One method call: its params, the connection it came on, and where the
/// answer goes (a no-op for notifications).
struct Call {
  boost::json::object params;
  std::shared_ptr<Session> session;
  Reply reply;
};

}  // namespace hs::daemon
