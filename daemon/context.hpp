// What method handlers reach: the store (only through the sequencer), the
// pool for blocking file work, and the daemon's identity.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/cancel.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/options.hpp"
#include "daemon/outcome.hpp"
#include "daemon/sequencer.hpp"

namespace hs::daemon {

struct Context {
  boost::asio::io_context& io;
  Sequencer& seq;
  boost::asio::thread_pool& blocking;  // blocking work: never on the event loop
  Hasher& hasher;                      // hashing files (daemon/hashing/hasher.hpp)
  const Options& opts;
  std::string state_file;
  std::string socket_path;
  std::string started_at;  // ISO local time
  std::chrono::steady_clock::time_point started;
  std::function<void()> request_shutdown;
  bool stopping = false;  // set once shutdown begins: new requests get -32000

  /// Blocking jobs (hashing) started and not yet finished on the loop.
  size_t pending_jobs = 0;
  /// Called on the loop when pending_jobs drops to 0 (the server sets it
  /// while it waits to shut down).
  std::function<void()> on_jobs_done;

  /// Runs `work()` on the blocking pool, then `then(result)` on the loop.
  /// Until `then` has run, the loop cannot return from run() (work guard)
  /// and a graceful shutdown waits for it (pending_jobs): a job's answer,
  /// or the change it leads to, is never dropped.
  template <class Work, class Then>
  void run_blocking(Work work, Then then) {
    ++pending_jobs;
    boost::asio::post(blocking, [this, work = std::move(work), then = std::move(then),
                                 guard = boost::asio::make_work_guard(io)]() mutable {
      auto result = work();
      boost::asio::post(io, [this, then = std::move(then), result = std::move(result),
                             guard = std::move(guard)]() mutable {
        then(std::move(result));
        if (--pending_jobs == 0 && on_jobs_done) on_jobs_done();
      });
    });
  }

  /// run_blocking for a read-only answer: skipped when `cancel` is set
  /// (its connection closed) by the time the pool gets to it.
  template <class Work>
  void offload(CancelToken cancel, Work work, Reply reply);
};

/// One method call: its params, the cancellation of its connection, and
/// where the answer goes (a no-op for notifications).
struct Call {
  boost::json::object params;
  CancelToken cancel;
  Reply reply;
};

template <class Work>
void Context::offload(CancelToken cancel, Work work, Reply reply) {
  run_blocking(
      [cancel, work = std::move(work)]() -> std::optional<Outcome> {
        // Nobody is waiting for this answer any more: save the disk reads.
        if (cancel.cancelled()) return std::nullopt;
        return work();
      },
      [reply = std::move(reply)](std::optional<Outcome> out) {
        if (out) reply(std::move(*out));
      });
}

}  // namespace hs::daemon
