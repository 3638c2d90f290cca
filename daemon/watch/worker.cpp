#include "daemon/watch/worker.hpp"

#include <boost/asio/post.hpp>

namespace hs::daemon::watch {

Worker::Worker(boost::asio::io_context& io) : io_(io) {
  thread_ = std::thread([this] { work(); });
}

Worker::~Worker() { stop(); }

void Worker::stop() {
  *alive_ = false;
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void()> blocking, std::function<void()> then) {
  {
    std::lock_guard lk(mu_);
    if (quit_) return;
    jobs_.push_back([this, blocking = std::move(blocking), then = std::move(then), alive = alive_] {
      blocking();
      if (!then) return;
      boost::asio::post(io_, [then, alive] {
        if (*alive) then();
      });
    });
  }
  cv_.notify_one();
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
