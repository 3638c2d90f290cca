// One run of a trigger's command (docs/PROTOCOL.md, "Triggers", "The
// process"): posix_spawn into a process group of its own, stdin the changed
// paths, stdout and stderr read on the loop into bounded tails, a timeout
// that sends the group SIGTERM and then SIGKILL, and the exit learnt from
// the Reaper. No thread is spent on a run.
//
// The run ends when the command (the group's leader) has exited and its
// output has been read to the end; output that processes it left behind
// still write is read for kOutputGrace more, then no longer waited for.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "daemon/triggers/reaper.hpp"
#include "daemon/triggers/spawn.hpp"

namespace hs::daemon::triggers {

/// The last `cap` bytes written to a stream.
class OutputTail {
 public:
  explicit OutputTail(size_t cap) : cap_(cap) {}
  void append(const char* data, size_t n) {
    buf_.append(data, n);
    // Trimmed in halves, so that appends stay amortized O(n).
    if (buf_.size() >= 2 * cap_) buf_.erase(0, buf_.size() - cap_);
  }
  std::string take() {
    if (buf_.size() > cap_) buf_.erase(0, buf_.size() - cap_);
    return std::move(buf_);
  }

 private:
  size_t cap_;
  std::string buf_;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] absolute
  std::string cwd;
  std::vector<std::string> env;   // the whole environment, "K=V"
  std::string stdin_data;
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds kill_after{5000};  // SIGTERM, then SIGKILL this much later
  size_t output_cap = 64 * 1024;               // per stream
};

struct ProcessResult {
  std::optional<int> exit_code;  // exited
  std::optional<int> signal;     // killed by this signal
  bool timed_out = false;
  std::string stdout_tail;
  std::string stderr_tail;
  std::chrono::milliseconds duration{0};
};

class Process : public std::enable_shared_from_this<Process> {
 public:
  using Done = std::function<void(ProcessResult)>;
  static constexpr std::chrono::milliseconds kOutputGrace{100};

  /// Starts `spec` and calls `done` on the loop once the run ended (see
  /// above); an error (nothing started, `done` never called) when it
  /// cannot be started: the pipes, or posix_spawn (command missing, not
  /// executable, cwd not enterable). spawn() then adopt(), on the loop.
  static Result<std::shared_ptr<Process>> start(boost::asio::io_context& io, Reaper& reaper, ProcessSpec spec,
                                                Done done);
  /// The blocking half: posix_spawn looks the command up and enters its
  /// cwd, file system calls that a hung mount can stall, so the daemon
  /// makes them off the loop. Safe on any thread.
  static Result<Child> spawn(const ProcessSpec& spec);
  /// The loop half: reads, writes, the timeout and the reaping of a child
  /// spawn() started. REQUIRES: on the loop.
  static std::shared_ptr<Process> adopt(boost::asio::io_context& io, Reaper& reaper, ProcessSpec spec, Child child,
                                        Done done);

  pid_t pid() const { return pid_; }
  bool ended() const { return ended_; }
  /// The daemon stops: SIGTERM to the group now, SIGKILL kill_after later
  /// (the run is not counted as timed out).
  void terminate();

  /// Use start().
  Process(boost::asio::io_context& io, ProcessSpec spec, Done done);

 private:
  struct Stream {
    explicit Stream(boost::asio::io_context& io, size_t cap) : sd(io), tail(cap) {}
    boost::asio::posix::stream_descriptor sd;
    OutputTail tail;
    std::array<char, 16384> buf{};
  };
  void begin(Reaper& reaper);
  void read(Stream& s);
  void write_stdin();
  void signal_group(int sig);
  void stop_group();
  void exited(int status);
  void close_all();
  void maybe_finish();

  ProcessSpec spec_;
  Done done_;
  pid_t pid_ = -1;
  std::chrono::steady_clock::time_point started_;
  boost::asio::posix::stream_descriptor in_;
  Stream out_, err_;
  boost::asio::steady_timer timeout_, kill_timer_, grace_;
  int outstanding_ = 0;  // reads and the stdin write in flight
  bool reaped_ = false;
  bool stopping_ = false;  // SIGTERM sent
  bool ended_ = false;
  ProcessResult result_;
};

}  // namespace hs::daemon::triggers
