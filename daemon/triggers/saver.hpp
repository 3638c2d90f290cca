// Durable saves of triggers.json off the event loop, one at a time, in the
// order asked (group commit: changes asked for while a save is in flight
// share the next one). The content is taken on the loop when a save
// starts, so a save never writes an older state over a newer one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace hs::daemon::triggers {

class Saver {
 public:
  /// What to write, taken on the loop at the start of each save.
  using Snapshot = std::function<std::string()>;
  using Done = std::function<void(const Status&)>;

  Saver(boost::asio::io_context& io, std::string path, Snapshot snapshot);
  ~Saver();
  Saver(const Saver&) = delete;
  Saver& operator=(const Saver&) = delete;

  /// Saves the state as it is now, or later; `done` (optional) runs on the
  /// loop once a save that started after this call ended, with its status.
  void save(Done done = {});
  /// Whether a save is in flight or asked for.
  bool busy() const { return in_flight_ || dirty_; }
  /// Runs `blocking` (file system work: checks, resolving) on the saver's
  /// thread, in order with the saves, then `then` on the loop.
  void run_off_loop(std::function<void()> blocking, std::function<void()> then);
  /// Joins the thread; saves asked for afterwards are not made.
  void stop();

 private:
  void start();
  void post(std::function<void()> job);
  void work();

  boost::asio::io_context& io_;
  std::string path_;
  Snapshot snapshot_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool in_flight_ = false;
  bool dirty_ = false;
  std::vector<Done> waiting_;    // for the next save
  std::vector<Done> in_flight_done_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace hs::daemon::triggers
