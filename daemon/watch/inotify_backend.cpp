// The Linux backend: one inotify descriptor, read on the loop through an
// asio stream_descriptor. Its queue is ordered, which is what makes
// request_cookie a "sync to now": the cookie is an IN_ATTRIB on a private
// memfd watched by the same descriptor, so when it is read every event
// queued before it has been read too. A memfd (or an unlinked temp file:
// cookie_file.hpp), not a file in some directory: nothing to clean up
// after a crash, and no other process can touch it and complete a sync
// early.
//
// When reading fails (EIO, anything but a stop), the watches are handed to
// a PollBackend under the same handles, and a kOverflow tells the user
// that anything may have changed meanwhile: from then on every watched
// directory is polled, and name() says "poll".
#include "common/platform.hpp"
#include "daemon/watch/poll_backend.hpp"
#include "daemon/watch/watch_backend.hpp"

#if HS_HAVE_INOTIFY

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "daemon/watch/cookie_file.hpp"

namespace hs::daemon::watch {
namespace {

// Every way an entry changes: written (in place, or still open), its
// attributes (chmod, touch -d, a link count), created, deleted, renamed in
// or out; and the directory itself going away. IN_EXCL_UNLINK: a deleted
// file some process still writes is no longer ours to report.
constexpr uint32_t kDirMask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;

// File systems whose changes made elsewhere (another host, a FUSE server,
// the kernel itself) produce no inotify events here.
bool unreliable_fs(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0x6969UL:      // NFS
    case 0x517BUL:      // SMB
    case 0xFF534D42UL:  // CIFS
    case 0xFE534D42UL:  // SMB2
    case 0x65735546UL:  // FUSE
    case 0x00C36400UL:  // Ceph
    case 0x01021997UL:  // 9P (WSL's and VMs' shared folders)
    case 0x5346414FUL:  // AFS
    case 0x6B414653UL:  // kAFS
    case 0x47504653UL:  // GPFS
    case 0x0BD00BD0UL:  // Lustre
    case 0x9FA0UL:      // proc
    case 0x62656572UL:  // sysfs
      return true;
    default:
      return false;
  }
}

class InotifyBackend final : public Backend {
 public:
  InotifyBackend(boost::asio::io_context& io, OnEvents on_events)
      : io_(io), sd_(io), on_events_(std::move(on_events)) {}

  Status init() {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return os_error("inotify_init1", "", errno);
    sd_.assign(fd);
    HS_TRY_ASSIGN(cookie_fd_, cookie_file());
    const int m = cookie_fd_.get();
    const std::string self = "/proc/self/fd/" + std::to_string(m);
    cookie_wd_ = ::inotify_add_watch(fd, self.c_str(), IN_ATTRIB);
    if (cookie_wd_ < 0) return os_error("inotify_add_watch", self, errno);
    buf_.resize(256 * (sizeof(struct inotify_event) + NAME_MAX + 1));
    read();
    return {};
  }

  ~InotifyBackend() override { stop(); }

  Result<int> add_dir(const std::string& dir, bool follow_link) override {
    // Called on workers (FileWatch's, TreeWatch's). The call itself is made
    // without the lock: on a hung mount it blocks, and the loop takes the
    // lock to forget a dropped watch.
    int fd = -1;
    PollBackend* poll = nullptr;
    {
      std::lock_guard lk(mu_);
      poll = poll_.get();
      if (poll == nullptr) {
        if (!sd_.is_open()) return os_error("inotify_add_watch", dir, EBADF);
        fd = sd_.native_handle();
      }
    }
    if (poll != nullptr) return poll->add_dir(dir, follow_link);  // thread-safe; never reset
    const uint32_t mask = follow_link ? kDirMask : kDirMask | IN_DONT_FOLLOW;
    int wd = ::inotify_add_watch(fd, dir.c_str(), mask);
    const int err = errno;
    {
      std::lock_guard lk(mu_);
      poll = poll_.get();
      if (poll == nullptr) {
        if (wd < 0) return os_error("inotify_add_watch", dir, err);
        wds_.try_emplace(wd, dir, follow_link);  // one inode, one wd: the first path serves
        return wd;
      }
    }
    // Reading failed meanwhile (the descriptor is closed): the poller
    // watches it instead.
    return poll->add_dir(dir, follow_link);
  }

  void remove(int handle) override {
    std::lock_guard lk(mu_);
    if (poll_) return poll_->remove(handle);
    // EINVAL when the kernel dropped it meanwhile (its IN_IGNORED is queued).
    if (sd_.is_open()) ::inotify_rm_watch(sd_.native_handle(), handle);
    wds_.erase(handle);
  }

  Status request_cookie() override {
    if (polling_) return poll_->request_cookie();
    if (!sd_.is_open()) return os_error("futimens", "sync cookie", EBADF);
    if (::futimens(cookie_fd_.get(), nullptr) != 0) return os_error("futimens", "sync cookie", errno);
    cookie_out_ = true;
    return {};
  }

  void stop() override {
    *alive_ = false;
    boost::system::error_code ignored;
    if (sd_.is_open()) sd_.close(ignored);
    if (polling_) poll_->stop();
  }

  bool events_unreliable(const std::string& dir) const override {
    if (polling_) return false;
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return false;  // add_dir says why, if anything
    return unreliable_fs(static_cast<long>(fs.f_type));
  }

  const char* name() const override { return polling_ ? "poll" : "inotify"; }
  bool polling() const override { return polling_; }

 private:
  void read() {
    sd_.async_read_some(boost::asio::buffer(buf_), [this, alive = alive_](boost::system::error_code ec, size_t n) {
      if (!*alive) return;  // stopped, and `this` may be gone
      if (ec) {
        if (ec != boost::asio::error::operation_aborted) fall_back(ec);
        return;
      }
      handle(n);
      if (*alive) read();
    });
  }

  // Reading failed: nothing more will come from this descriptor, and the
  // events lost with it are unknown. The watches go on by polling.
  void fall_back(const boost::system::error_code& ec) {
    std::vector<Event> lost;
    {
      std::lock_guard lk(mu_);
      log::warn("file watch: reading inotify failed (" + ec.message() + "); its " + std::to_string(wds_.size()) +
                " directories are polled every " + std::to_string(kPollEvery.count()) +
                " ms from now on (daemon.info: \"backend\": \"poll\")");
      poll_ = std::make_unique<PollBackend>(io_, on_events_);
      for (const auto& [wd, d] : wds_) {
        // Gone meanwhile: its user watches what is at the path again.
        if (!poll_->adopt(wd, d.first, d.second)) lost.push_back(Event{wd, kSelf | kGone, {}});
      }
      wds_.clear();
      polling_ = true;
    }
    boost::system::error_code ignored;
    sd_.close(ignored);
    lost.push_back(Event{-1, kOverflow, {}});
    on_events_(lost);
    // The cookie in flight was lost with the rest: ask the poller for one.
    if (cookie_out_ && *alive_) static_cast<void>(poll_->request_cookie());  // fails only once stopped
  }

  void handle(size_t n) {
    std::vector<Event> out;
    for (size_t at = 0; at + sizeof(struct inotify_event) <= n;) {
      struct inotify_event ev;
      std::memcpy(&ev, buf_.data() + at, sizeof ev);  // the buffer need not be aligned for it
      std::string_view name(buf_.data() + at + sizeof ev, ev.len);
      name = name.substr(0, name.find('\0'));
      at += sizeof ev + ev.len;
      Event e;
      e.handle = ev.wd;
      if ((ev.mask & IN_Q_OVERFLOW) != 0) e.what |= kOverflow;
      if (ev.wd == cookie_wd_ && ev.wd >= 0) {
        if ((ev.mask & IN_ATTRIB) != 0) {
          e.what |= kCookie;
          cookie_out_ = false;
        }
      } else {
        if (!name.empty()) {
          e.what |= kEntry;
          e.name = name;
          e.dir = (ev.mask & IN_ISDIR) != 0;
          if ((ev.mask & IN_CLOSE_WRITE) != 0) e.what |= kClosedWrite;
          if ((ev.mask & IN_MOVED_TO) != 0) e.what |= kMovedIn;
        } else if ((ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) != 0) {
          e.what |= kSelf;
        }
        if ((ev.mask & IN_IGNORED) != 0) {
          e.what |= kGone | kSelf;
          std::lock_guard lk(mu_);
          wds_.erase(ev.wd);
        }
      }
      if (e.what != 0) out.push_back(e);
    }
    if (!out.empty()) on_events_(out);
  }

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor sd_;
  OnEvents on_events_;
  UniqueFd cookie_fd_;
  int cookie_wd_ = -1;
  std::vector<char> buf_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool cookie_out_ = false;  // a cookie asked for and not read yet
  std::mutex mu_;            // wds_, poll_: add_dir and remove may come from a worker
  std::map<int, std::pair<std::string, bool>> wds_;  // wd -> {directory, follow_link}
  std::unique_ptr<PollBackend> poll_;                // once reading failed
  std::atomic<bool> polling_{false};
};

}  // namespace

Result<std::unique_ptr<Backend>> make_backend(boost::asio::io_context& io, Backend::OnEvents on_events) {
  auto b = std::make_unique<InotifyBackend>(io, on_events);
  if (auto st = b->init(); !st) {
    log::warn("file watch: " + st.error().message() + "; watched directories are polled every " +
              std::to_string(kPollEvery.count()) + " ms instead");
    b.reset();  // stopped before its poller exists
    return std::unique_ptr<Backend>(std::make_unique<PollBackend>(io, std::move(on_events)));
  }
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace hs::daemon::watch

#elif defined(__APPLE__) || defined(__FreeBSD__)

#include <utility>

#include "daemon/watch/kqueue_backend.hpp"

namespace hs::daemon::watch {

// Written, not built or tested here (kqueue_backend.hpp). Polling when
// kqueue cannot start.
Result<std::unique_ptr<Backend>> make_backend(boost::asio::io_context& io, Backend::OnEvents on_events) {
  auto kq = make_kqueue_backend(io, on_events);
  if (kq) return kq;
  return std::unique_ptr<Backend>(std::make_unique<PollBackend>(io, std::move(on_events)));
}

}  // namespace hs::daemon::watch

#else

#include <utility>

namespace hs::daemon::watch {

Result<std::unique_ptr<Backend>> make_backend(boost::asio::io_context& io, Backend::OnEvents on_events) {
  return std::unique_ptr<Backend>(std::make_unique<PollBackend>(io, std::move(on_events)));
}

}  // namespace hs::daemon::watch

#endif
