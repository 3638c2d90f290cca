#include "daemon/watch/state_watch.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "common/log.hpp"

namespace hs::daemon::watch {

StateWatch::StateWatch(boost::asio::io_context& io, std::string dir, std::string name,
                       std::function<void()> on_change)
    : fd_(io), dir_(std::move(dir)), name_(std::move(name)), on_change_(std::move(on_change)) {}

void StateWatch::start() {
#ifdef __linux__
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    log::warn("cannot watch " + dir_ + " (inotify_init1: " + std::strerror(errno) +
              "): changes by other processes are noticed only before the daemon's next write");
    return;
  }
  if (::inotify_add_watch(fd, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
    log::warn("cannot watch " + dir_ + " (inotify_add_watch: " + std::strerror(errno) +
              "): changes by other processes are noticed only before the daemon's next write");
    ::close(fd);
    return;
  }
  fd_.assign(fd);
  // Room for many events at once: each is a header plus a name of up to NAME_MAX.
  buf_.resize(64 * (sizeof(struct inotify_event) + NAME_MAX + 1));
  read();
#else
  log::warn("no inotify here: changes to " + dir_ + "/" + name_ +
            " by other processes are noticed only before the daemon's next write");
#endif
}

void StateWatch::stop() {
  boost::system::error_code ignored;
  if (fd_.is_open()) fd_.close(ignored);
}

void StateWatch::read() {
  fd_.async_read_some(boost::asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) log::warn("watch of " + dir_ + " ended: " + ec.message());
      return;
    }
    handle(n);
    read();
  });
}

void StateWatch::handle(size_t n) {
#ifdef __linux__
  bool hit = false;
  for (size_t at = 0; at + sizeof(struct inotify_event) <= n;) {
    struct inotify_event ev;
    std::memcpy(&ev, buf_.data() + at, sizeof ev);  // the buffer need not be aligned for it
    const char* name = buf_.data() + at + sizeof ev;
    if ((ev.mask & IN_Q_OVERFLOW) != 0) hit = true;
    if (ev.len > 0 && name_ == name) hit = true;
    at += sizeof ev + ev.len;
  }
  // One check covers every event read at once.
  if (hit) on_change_();
#else
  (void)n;
#endif
}

}  // namespace hs::daemon::watch
