// The Linux reaper: each child's pidfd (Linux 5.3) becomes readable when
// the child exits; asio waits for that on the loop like any descriptor.
// Where pidfd_open is missing (older kernels, seccomp) the SIGCHLD reaper
// takes the children instead.
#include "daemon/triggers/reaper.hpp"

#include "common/platform.hpp"

#if HS_HAVE_PIDFD

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <unordered_map>

namespace hs::daemon::triggers {
namespace {

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

class PidfdReaper final : public Reaper {
 public:
  explicit PidfdReaper(boost::asio::io_context& io) : io_(io) {}
  ~PidfdReaper() override {
    *alive_ = false;
    for (auto& [pid, sd] : fds_) {
      boost::system::error_code ignored;
      sd->close(ignored);
    }
  }

  void watch(pid_t pid, OnExit on_exit) override {
    int fd = pidfd_open(pid);
    if (fd < 0) {
      if (!fallback_) fallback_ = make_sigchld_reaper(io_);
      fallback_->watch(pid, std::move(on_exit));
      return;
    }
    auto sd = std::make_shared<boost::asio::posix::stream_descriptor>(io_, fd);
    fds_[pid] = sd;
    sd->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this, pid, sd, cb = std::move(on_exit), alive = alive_](boost::system::error_code ec) {
                     if (!*alive || ec) return;
                     int status = 0;
                     pid_t r;
                     do {
                       r = ::waitpid(pid, &status, WNOHANG);
                     } while (r < 0 && errno == EINTR);
                     fds_.erase(pid);
                     boost::system::error_code ignored;
                     sd->close(ignored);
                     // ECHILD: reaped by someone else; its status is lost.
                     cb(r > 0 ? status : SIGKILL);
                   });
  }

 private:
  boost::asio::io_context& io_;
  std::unordered_map<pid_t, std::shared_ptr<boost::asio::posix::stream_descriptor>> fds_;
  std::unique_ptr<Reaper> fallback_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Reaper> make_reaper(boost::asio::io_context& io) { return std::make_unique<PidfdReaper>(io); }

}  // namespace hs::daemon::triggers

#else

namespace hs::daemon::triggers {
std::unique_ptr<Reaper> make_reaper(boost::asio::io_context& io) { return make_sigchld_reaper(io); }
}  // namespace hs::daemon::triggers

#endif
