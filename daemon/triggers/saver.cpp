#include "daemon/triggers/saver.hpp"

#include <boost/asio/post.hpp>

#include "common/durable_file.hpp"

namespace hs::daemon::triggers {
namespace asio = boost::asio;

Saver::Saver(asio::io_context& io, std::string path, Snapshot snapshot)
    : io_(io), path_(std::move(path)), snapshot_(std::move(snapshot)) {
  thread_ = std::thread([this] { work(); });
}

Saver::~Saver() { stop(); }

void Saver::stop() {
  *alive_ = false;
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Saver::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (quit_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Saver::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return quit_ || !jobs_.empty(); });
      // Jobs queued before the stop still run: a save asked for is made.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void Saver::save(Done done) {
  dirty_ = true;
  if (done) waiting_.push_back(std::move(done));
  if (!in_flight_) start();
}

void Saver::start() {
  dirty_ = false;
  in_flight_ = true;
  in_flight_done_ = std::move(waiting_);
  waiting_.clear();
  post([this, text = snapshot_(), alive = alive_] {
    Status st = replace_file_durably(path_, text, 0600);
    asio::post(io_, [this, st = std::move(st), alive] {
      if (!*alive) return;
      in_flight_ = false;
      auto done = std::move(in_flight_done_);
      in_flight_done_.clear();
      if (dirty_) start();
      for (auto& d : done) d(st);
    });
  });
}

void Saver::run_off_loop(std::function<void()> blocking, std::function<void()> then) {
  post([this, blocking = std::move(blocking), then = std::move(then), alive = alive_] {
    blocking();
    asio::post(io_, [then, alive] {
      if (*alive) then();
    });
  });
}

}  // namespace hs::daemon::triggers
