// Watches the state dir for another process writing state.json
// (docs/STATE.md, "Other writers"), so that reads show its content without
// waiting for the daemon's next write (whose own check would catch it).
//
// inotify, on the event loop: IN_CLOSE_WRITE (a write in place, as an
// editor does) and IN_MOVED_TO (a temp file renamed over it, as HarnessSync
// does) on state.json. The daemon's own writes are seen too; the check they
// trigger finds the identity the daemon noted and does nothing. Where
// inotify is missing (not Linux) or refused (the per-user watch limit), a
// warning is logged and only the check before each write remains.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <string>
#include <vector>

namespace hs::daemon::watch {

class StateWatch {
 public:
  /// `on_change` runs on the loop for each event on `dir`/`name` (and on a
  /// queue overflow, when events may have been lost).
  StateWatch(boost::asio::io_context& io, std::string dir, std::string name, std::function<void()> on_change);

  /// Starts watching; logs a warning and does nothing when it cannot.
  void start();
  /// Stops: the pending read ends, so that io.run() can return.
  void stop();

 private:
  void read();
  void handle(size_t n);

  boost::asio::posix::stream_descriptor fd_;
  std::string dir_;
  std::string name_;
  std::function<void()> on_change_;
  std::vector<char> buf_;
};

}  // namespace hs::daemon::watch
