// The portable reaper: one SIGCHLD signal_set; on each signal, every child
// we wait for is asked with waitpid(pid, WNOHANG). Signals merge (two
// children exiting together may raise one SIGCHLD), which is why every
// child is asked each time; a child that exited before it was watched is
// found by the check watch() posts.
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/triggers/reaper.hpp"

namespace hs::daemon::triggers {
namespace {

class SigchldReaper final : public Reaper {
 public:
  explicit SigchldReaper(boost::asio::io_context& io) : io_(io), signals_(io, SIGCHLD) {}
  ~SigchldReaper() override {
    *alive_ = false;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  }

  void watch(pid_t pid, OnExit on_exit) override {
    children_[pid] = std::move(on_exit);
    arm();
    boost::asio::post(io_, [this, alive = alive_] {
      if (*alive) poll();
    });
  }

 private:
  void arm() {
    if (armed_) return;
    armed_ = true;
    signals_.async_wait([this, alive = alive_](boost::system::error_code ec, int) {
      if (!*alive) return;
      armed_ = false;
      if (ec) return;
      poll();
      if (!children_.empty()) arm();
    });
  }

  void poll() {
    std::vector<std::pair<OnExit, int>> exited;
    for (auto it = children_.begin(); it != children_.end();) {
      int status = 0;
      pid_t r;
      do {
        r = ::waitpid(it->first, &status, WNOHANG);
      } while (r < 0 && errno == EINTR);
      if (r == 0 || (r < 0 && errno != ECHILD)) {
        ++it;
        continue;
      }
      // ECHILD: reaped by someone else; its status is lost, say "killed".
      exited.emplace_back(std::move(it->second), r > 0 ? status : SIGKILL);
      it = children_.erase(it);
    }
    // Called last: a callback may watch another child.
    for (auto& [cb, status] : exited) cb(status);
  }

  boost::asio::io_context& io_;
  boost::asio::signal_set signals_;
  std::unordered_map<pid_t, OnExit> children_;
  bool armed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Reaper> make_sigchld_reaper(boost::asio::io_context& io) { return std::make_unique<SigchldReaper>(io); }

}  // namespace hs::daemon::triggers
