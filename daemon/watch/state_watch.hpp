// Watches the state dir for another process writing state.json
// (docs/STATE.md, "Other writers"), so that reads show its content without
// waiting for the daemon's next write (whose own check would catch it).
//
// On watch::Backend (inotify on Linux), on the event loop: a writer closing
// state.json after writing it in place (as an editor does), or a file
// renamed over it (as HarnessSync does), and a lost event queue. The
// daemon's own writes are seen too; the check they trigger finds the
// identity the daemon noted and does nothing. Where there is no backend,
// or the OS refuses a watch (the per-user limit), a warning is logged and
// only the check before each write remains.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

class StateWatch {
 public:
  /// `on_change` runs on the loop for each read of events that holds one
  /// on `dir`/`name` (or a queue overflow, when events may have been lost).
  StateWatch(boost::asio::io_context& io, std::string dir, std::string name, std::function<void()> on_change);
  ~StateWatch();
  StateWatch(const StateWatch&) = delete;
  StateWatch& operator=(const StateWatch&) = delete;

  /// Starts watching; logs a warning and does nothing when it cannot.
  void start();
  /// Stops: the pending read ends, so that io.run() can return.
  void stop();

 private:
  void on_events(const std::vector<Backend::Event>& events);

  boost::asio::io_context& io_;
  std::string dir_;
  std::string name_;
  std::function<void()> on_change_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace hs::daemon::watch
