#include "daemon/watch/worker.hpp"

#include <boost/asio/post.hpp>
#include <string>
#include <system_error>

#include "common/log.hpp"

namespace hs::daemon::watch {

Worker::Worker(boost::asio::io_context& io) : io_(io) {}

Worker::~Worker() { stop(); }

void Worker::stop() {
  *alive_ = false;
  std::thread t;
  {
    std::lock_guard lk(mu_);
    quit_ = true;
    t = std::move(thread_);
  }
  cv_.notify_one();
  if (t.joinable()) t.join();
}

void Worker::post(std::function<void()> blocking, std::function<void()> then) {
  std::function<void()> job = [this, blocking = std::move(blocking), then = std::move(then), alive = alive_] {
    blocking();
    if (!then) return;
    boost::asio::post(io_, [then, alive] {
      if (*alive) then();
    });
  };
  {
    std::lock_guard lk(mu_);
    if (quit_) return;
    if (start_locked()) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  // No thread (the process is at its thread limit): the job runs here, on
  // the loop, rather than never, and the next post tries again.
  job();
}

bool start_once(std::thread& t, std::function<void()> body, std::string_view what) {
  if (t.joinable()) return true;
  try {
    t = std::thread(std::move(body));
    return true;
  } catch (const std::system_error& e) {
    log::error("cannot start " + std::string(what) + "'s thread: " + e.what());
    return false;
  }
}

bool Worker::start_locked() {
  // The thread starts with the first job, not with the daemon: a cold
  // start (a client spawning the daemon for one call) pays for no thread
  // it does not use; docs/PERFORMANCE.md, "hsctl cold start".
  return start_once(thread_, [this] { work(); }, "a worker");
}

void Worker::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return quit_ || !jobs_.empty(); });
      // Jobs posted before the stop still run: a save asked for is made.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace hs::daemon::watch
