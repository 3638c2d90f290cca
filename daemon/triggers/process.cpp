#include "daemon/triggers/process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/write.hpp>
#include <cerrno>


namespace hs::daemon::triggers {
namespace asio = boost::asio;

Process::Process(asio::io_context& io, ProcessSpec spec, Done done)
    : spec_(std::move(spec)),
      done_(std::move(done)),
      in_(io),
      out_(io, spec_.output_cap),
      err_(io, spec_.output_cap),
      timeout_(io),
      kill_timer_(io),
      grace_(io) {}

Result<std::shared_ptr<Process>> Process::start(asio::io_context& io, Reaper& reaper, ProcessSpec spec, Done done) {
  HS_TRY_ASSIGN(Child c, spawn(spec));
  return adopt(io, reaper, std::move(spec), std::move(c), std::move(done));
}

Result<Child> Process::spawn(const ProcessSpec& spec) { return spawn_child(spec.argv, spec.cwd, spec.env); }

std::shared_ptr<Process> Process::adopt(asio::io_context& io, Reaper& reaper, ProcessSpec spec, Child c, Done done) {
  auto p = std::make_shared<Process>(io, std::move(spec), std::move(done));
  p->pid_ = c.pid;
  p->started_ = std::chrono::steady_clock::now();
  p->in_.assign(c.stdin_w.release());
  p->out_.sd.assign(c.stdout_r.release());
  p->err_.sd.assign(c.stderr_r.release());
  p->begin(reaper);
  return p;
}

void Process::begin(Reaper& reaper) {
  auto self = shared_from_this();
  reaper.watch(pid_, [self](int status) { self->exited(status); });
  read(out_);
  read(err_);
  write_stdin();
  timeout_.expires_after(spec_.timeout);
  timeout_.async_wait([self](boost::system::error_code ec) {
    if (ec || self->reaped_) return;
    self->result_.timed_out = true;
    self->stop_group();
  });
}

void Process::read(Stream& s) {
  ++outstanding_;
  s.sd.async_read_some(asio::buffer(s.buf), [self = shared_from_this(), &s](boost::system::error_code ec, size_t n) {
    --self->outstanding_;
    if (n > 0) s.tail.append(s.buf.data(), n);
    if (!ec && s.sd.is_open()) {
      self->read(s);
      return;
    }
    // EOF (every writer closed it), an error, or closed by us.
    boost::system::error_code ignored;
    s.sd.close(ignored);
    self->maybe_finish();
  });
}

void Process::write_stdin() {
  if (spec_.stdin_data.empty()) {
    boost::system::error_code ignored;
    in_.close(ignored);
    return;
  }
  ++outstanding_;
  // A command that never reads its stdin must not stall anything: the
  // write waits on the loop, and ends when the command does (EPIPE).
  asio::async_write(in_, asio::buffer(spec_.stdin_data), [self = shared_from_this()](boost::system::error_code, size_t) {
    --self->outstanding_;
    boost::system::error_code ignored;
    self->in_.close(ignored);
    self->maybe_finish();
  });
}

void Process::signal_group(int sig) {
  // The group may outlive its leader (a grandchild): ESRCH once all are gone.
  if (pid_ > 0) ::kill(-pid_, sig);
}

void Process::stop_group() {
  if (stopping_) return;
  stopping_ = true;
  signal_group(SIGTERM);
  // Held by the timer: a group that ignores SIGTERM is killed even after
  // its leader has exited and the run has been recorded.
  kill_timer_.expires_after(spec_.kill_after);
  kill_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->signal_group(SIGKILL);
  });
}

void Process::terminate() {
  if (ended_) return;
  stop_group();
}

void Process::exited(int status) {
  reaped_ = true;
  timeout_.cancel();
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  result_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  // Its stdin is nobody's now; its output may still be in the pipes, or
  // held open by what it left running: read on, but not for long.
  boost::system::error_code ignored;
  in_.close(ignored);
  grace_.expires_after(kOutputGrace);
  grace_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->close_all();
  });
  maybe_finish();
}

void Process::close_all() {
  boost::system::error_code ignored;
  in_.close(ignored);
  out_.sd.close(ignored);
  err_.sd.close(ignored);
  maybe_finish();
}

void Process::maybe_finish() {
  // Only once every handler in flight has run: a read completed but not
  // yet delivered would otherwise add its bytes after the record is made.
  if (ended_ || !reaped_ || outstanding_ > 0 || out_.sd.is_open() || err_.sd.is_open()) return;
  ended_ = true;
  grace_.cancel();
  result_.stdout_tail = out_.tail.take();
  result_.stderr_tail = err_.tail.take();
  Done done = std::move(done_);
  done(std::move(result_));
}

}  // namespace hs::daemon::triggers
