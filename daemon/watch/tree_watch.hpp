// Watching whole trees for triggers (docs/PROTOCOL.md, "Triggers"): each
// key (a trigger) names roots; a root that is a directory covers every
// path below it, including directories made later. Changes are reported
// per key, with the paths that changed, as soon as the events are read
// (the trigger's settle is the debounce), or as "unknown" when the
// kernel's queue overflowed.
//
// The file system is only touched on a worker thread of this watch
// (listing, lstat, watching, polling, signatures; tree_model.hpp holds its
// state), so a slow mount delays only the triggers that watch it, never
// the event loop. The backend reads its events on the loop and they are
// handed to the worker in order; a "sync to now" cookie goes the same way,
// so sync() answers after every earlier change was reported.
//
// What cannot be watched is polled by stat every poll_every (2 s).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/watch/tree_model.hpp"
#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

class TreeWatch {
 public:
  /// `paths` changed under `key`'s roots; `unknown`: anything may have
  /// (then `paths` is empty). Called on the loop.
  using OnChange = std::function<void(const std::string& key, std::vector<std::string> paths, bool unknown)>;

  struct Config {
    size_t max_watches = 0;  // 0: as many as the OS gives
    std::chrono::milliseconds poll_every{2000};
  };

  TreeWatch(boost::asio::io_context& io, Config cfg, OnChange on_change);
  ~TreeWatch();
  TreeWatch(const TreeWatch&) = delete;
  TreeWatch& operator=(const TreeWatch&) = delete;

  /// Watches `roots` for `key` (replacing its roots); `ready` runs on the
  /// loop once they are watched: a change made after that is reported.
  void set_roots(const std::string& key, std::vector<std::string> roots, std::function<void()> ready = {});
  void drop(const std::string& key);
  /// Calls `done` on the loop once every change made before this call has
  /// been reported (polled paths: as of their last poll).
  void sync(std::function<void()> done);
  /// The stat signature of `key`'s roots now (tree_scan.hpp), on the loop.
  void signature(const std::string& key, std::function<void(std::string)> done);
  /// {"dirs": directories watched or polled, "watches", "polled"}.
  boost::json::object info() const;
  /// Ends the worker and the watches; nothing is reported afterwards.
  void stop();

 private:
  void post_work(std::function<void()> job);
  /// Under mu_: starts the worker if it is not running yet; false when it
  /// cannot be started.
  bool start_locked();
  void to_loop(std::function<void()> fn);
  void work();
  void deliver(TreeReport report);
  void on_backend_events(const std::vector<Backend::Event>& events);
  void request_cookie();
  void publish_counts();

  boost::asio::io_context& io_;
  Config cfg_;
  OnChange on_change_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // Loop side.
  std::unique_ptr<Backend> backend_;
  bool stopped_ = false;
  bool cookie_in_flight_ = false;
  std::vector<std::function<void()>> cookie_waiters_, next_waiters_;

  // Worker side: the model and its jobs.
  std::unique_ptr<TreeModel> model_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread worker_;
  std::atomic<size_t> dirs_{0}, watches_{0}, polled_{0};
};

}  // namespace hs::daemon::watch
