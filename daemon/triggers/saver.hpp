// Durable saves of triggers.json off the event loop, one at a time, in the
// order asked (group commit: changes asked for while a save is in flight
// share the next one). The content is taken on the loop when a save
// starts, so a save never writes an older state over a newer one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "daemon/watch/worker.hpp"

namespace hs::daemon::triggers {

class Saver {
 public:
  /// What to write, taken on the loop at the start of each save.
  using Snapshot = std::function<std::string()>;
  using Done = std::function<void(const Status&)>;

  Saver(watch::Worker& worker, std::string path, Snapshot snapshot);
  Saver(const Saver&) = delete;
  Saver& operator=(const Saver&) = delete;

  /// Saves the state as it is now, or later; `done` (optional) runs on the
  /// loop once a save that started after this call ended, with its status.
  /// The saves run on `worker`, in order with its other jobs.
  void save(Done done = {});
  /// Whether a save is in flight or asked for.
  bool busy() const { return in_flight_ || dirty_; }

 private:
  void start();

  watch::Worker& worker_;
  std::string path_;
  Snapshot snapshot_;
  bool in_flight_ = false;
  bool dirty_ = false;
  std::vector<Done> waiting_;  // for the next save
  std::vector<Done> in_flight_done_;
};

}  // namespace hs::daemon::triggers
