// A thread for blocking work (the triggers' durable saves, checks and
// posix_spawn; FileWatch's rounds: resolving, watching, polling): jobs run one at a time, in the
// order posted, and each one's continuation runs on the event loop, so no
// file system call blocks the loop (docs/PROTOCOL.md, "Limits").
#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

namespace hs::daemon::watch {

/// Starts `t` running `body` unless it runs already. False when the OS
/// refuses a thread (the process is at its limit), logged as `what`'s: the
/// caller then does the work some other way rather than never.
bool start_once(std::thread& t, std::function<void()> body, std::string_view what);

class Worker {
 public:
  explicit Worker(boost::asio::io_context& io);
  /// stop().
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Runs `blocking` on the worker, then `then` (may be empty) on the loop,
  /// unless the worker was stopped meanwhile.
  void post(std::function<void()> blocking, std::function<void()> then = {});
  /// Runs what was posted before, then joins the thread; continuations not
  /// run yet are dropped, and later posts are ignored.
  void stop();

 private:
  /// Under mu_: starts the thread if it is not running yet; false when it
  /// cannot be started.
  bool start_locked();
  void work();

  boost::asio::io_context& io_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace hs::daemon::watch
