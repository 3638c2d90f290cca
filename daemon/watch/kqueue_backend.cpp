// The kqueue backend (macOS, FreeBSD): WRITTEN, NOT BUILT OR TESTED here
// (docs/ARCHITECTURE.md, "Platforms"); the portable build tests polling.
#include "daemon/watch/kqueue_backend.hpp"

#if defined(__APPLE__) || defined(__FreeBSD__)

#include <dirent.h>
#include <fcntl.h>
#include <sys/event.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::watch {
namespace {

#if defined(O_EVTONLY)
constexpr int kOpenMode = O_EVTONLY;  // macOS: does not keep the volume from unmounting
#else
constexpr int kOpenMode = O_RDONLY;
#endif

// The directory itself: entries created, removed or renamed (NOTE_WRITE;
// FreeBSD adds NOTE_EXTEND for a rename in or out), a subdirectory made or
// removed (NOTE_LINK), and the directory going away.
constexpr unsigned kDirFilter = NOTE_WRITE | NOTE_EXTEND | NOTE_LINK | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE;
// A regular file in it: its content, attributes and links.
#if defined(NOTE_CLOSE_WRITE)
constexpr unsigned kCloseWrite = NOTE_CLOSE_WRITE;  // FreeBSD
#else
constexpr unsigned kCloseWrite = 0;
#endif
constexpr unsigned kFileFilter =
    NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE | kCloseWrite;
// A subdirectory in it: only what inotify reports of a subdirectory in its
// parent (attributes, removed, renamed); its own entries are its own watch.
constexpr unsigned kSubdirFilter = NOTE_ATTRIB | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE;

constexpr uintptr_t kCookieIdent = 1;
constexpr int kBatch = 64;

struct Entry {
  dev_t dev = 0;
  ino_t ino = 0;
  bool dir = false;
  UniqueFd fd;  // -1 for a type that needs no filter
};
struct Dir {
  UniqueFd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  std::map<std::string, Entry> entries;
};
// What a descriptor's events are about: a directory (name empty) or one of its entries.
struct Owner {
  int handle = -1;
  std::string name;
};

class KqueueBackend final : public Backend {
 public:
  KqueueBackend(boost::asio::io_context& io, OnEvents on_events) : sd_(io), on_events_(std::move(on_events)) {}
  ~KqueueBackend() override { stop(); }

  Status init() {
    int kq = ::kqueue();
    if (kq < 0) return os_error("kqueue", "", errno);
    ::fcntl(kq, F_SETFD, FD_CLOEXEC);
    sd_.assign(kq);
    kq_ = kq;
    struct kevent ch;
    EV_SET(&ch, kCookieIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
    if (::kevent(kq, &ch, 1, nullptr, 0, nullptr) != 0) return os_error("kevent", "EVFILT_USER", errno);
    budget_ = descriptor_budget();
    wait();
    return {};
  }

  Result<int> add_dir(const std::string& dir, bool follow_link) override {
    std::lock_guard lock(mu_);
    if (kq_ < 0) return os_error("kevent", dir, EBADF);
    if (open_fds_ + 1 > budget_) return os_error("watch", dir, ENOSPC);
    int flags = kOpenMode | O_DIRECTORY | O_CLOEXEC | (follow_link ? 0 : O_NOFOLLOW);
    UniqueFd fd(::open(dir.c_str(), flags));
    if (!fd.valid()) return os_error("open", dir, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return os_error("fstat", dir, errno);
    // One inode, one handle, as inotify gives the same watch descriptor
    // for two paths of one directory.
    if (auto it = by_inode_.find(std::make_pair(st.st_dev, st.st_ino)); it != by_inode_.end()) return it->second;

    const int handle = next_handle_++;
    Dir& d = dirs_[handle];
    d.dev = st.st_dev;
    d.ino = st.st_ino;
    d.fd = std::move(fd);
    ++open_fds_;
    by_inode_[std::make_pair(d.dev, d.ino)] = handle;
    by_fd_[d.fd.get()] = Owner{handle, {}};
    Status armed = register_fd(d.fd.get(), kDirFilter);
    if (armed) armed = rescan(handle, d, nullptr, nullptr);
    if (!armed) {
      drop(handle);
      return std::move(armed).error();
    }
    return handle;
  }

  void remove(int handle) override {
    std::lock_guard lock(mu_);
    drop(handle);
  }

  Status request_cookie() override {
    struct kevent ch;
    EV_SET(&ch, kCookieIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    if (::kevent(kq_, &ch, 1, nullptr, 0, nullptr) != 0) return os_error("kevent", "sync cookie", errno);
    return {};
  }

  void stop() override {
    *alive_ = false;
    std::lock_guard lock(mu_);
    boost::system::error_code ignored;
    if (sd_.is_open()) sd_.close(ignored);  // every knote goes with it
    kq_ = -1;
    dirs_.clear();
    by_fd_.clear();
    by_inode_.clear();
    open_fds_ = 0;
  }

  const char* name() const override { return "kqueue"; }
  bool polling() const override { return false; }

  bool events_unreliable(const std::string& dir) const override {
    // Changes made on another machine (NFS, SMB, AFP) raise no vnode events here.
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return false;  // add_dir says why, if anything
    return (fs.f_flags & MNT_LOCAL) == 0;
  }

 private:
  // Half of the descriptors the process may open (raised to the hard
  // limit first: macOS starts daemons at 256): the rest stay for clients.
  static size_t descriptor_budget() {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 128;
    rlim_t want = rl.rlim_max;
#if defined(OPEN_MAX)
    want = std::min<rlim_t>(want, OPEN_MAX);  // macOS refuses RLIM_INFINITY here
#endif
    if (want > rl.rlim_cur) {
      struct rlimit raised = rl;
      raised.rlim_cur = want;
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    return static_cast<size_t>(std::max<rlim_t>(rl.rlim_cur / 2, 32));
  }

  Status register_fd(int fd, unsigned fflags) {
    struct kevent ch;
    EV_SET(&ch, static_cast<uintptr_t>(fd), EVFILT_VNODE, EV_ADD | EV_CLEAR, fflags, 0, nullptr);
    if (::kevent(kq_, &ch, 1, nullptr, 0, nullptr) != 0) return os_error("kevent", "", errno);
    return {};
  }

  // Reads the directory again. With `out`, reports each name that came,
  // went or names another inode now (names are kept in `names`, which
  // outlives the callback). An error (an entry that cannot be watched, the
  // budget spent, the directory unreadable) means the directory cannot be
  // watched as the contract wants: the caller drops it.
  Status rescan(int handle, Dir& d, std::vector<Event>* out, std::deque<std::string>* names) {
    UniqueFd list_fd(::openat(d.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!list_fd.valid()) return os_error("open", ".", errno);
    const int dfd = list_fd.get();
    DIR* raw = ::fdopendir(list_fd.release());
    if (raw == nullptr) {
      int e = errno;
      ::close(dfd);
      return os_error("fdopendir", ".", e);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir(raw, ::closedir);
    std::map<std::string, Entry> now;
    // On failure the entries opened so far are released here; those still
    // in d.entries go when the caller drops the directory.
    auto fail = [&](Error e) -> Status {
      for (auto& [name, en] : now) release(en);
      return e;
    };
    for (;;) {
      errno = 0;
      dirent* ent = ::readdir(dir.get());
      if (ent == nullptr) {
        if (errno != 0) return fail(os_error("readdir", ".", errno));
        break;
      }
      const std::string name = ent->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // gone meanwhile: the next NOTE_WRITE is queued
        return fail(os_error("fstatat", name, errno));
      }
      auto old = d.entries.find(name);
      if (old != d.entries.end() && old->second.dev == st.st_dev && old->second.ino == st.st_ino) {
        now.emplace(name, std::move(old->second));
        d.entries.erase(old);
        continue;
      }
      // New, or another inode under the old name (replaced by rename).
      if (out != nullptr) report(handle, name, kEntry, S_ISDIR(st.st_mode), out, names);
      Entry e;
      e.dev = st.st_dev;
      e.ino = st.st_ino;
      e.dir = S_ISDIR(st.st_mode);
      if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        auto fd = open_entry(dfd, name, st);
        if (!fd) return fail(std::move(fd).error());
        e.fd = std::move(*fd);
        by_fd_[e.fd.get()] = Owner{handle, name};
        if (Status armed = register_fd(e.fd.get(), S_ISDIR(st.st_mode) ? kSubdirFilter : kFileFilter); !armed) {
          release(e);
          return fail(std::move(armed).error());
        }
      }
      now.emplace(name, std::move(e));
    }
    // What is left went away.
    for (auto& [name, e] : d.entries) {
      if (out != nullptr) report(handle, name, kEntry, e.dir, out, names);
      release(e);
    }
    d.entries = std::move(now);
    return {};
  }

  Result<UniqueFd> open_entry(int dfd, const std::string& name, const struct stat& seen) {
    if (open_fds_ + 1 > budget_) return os_error("watch", name, ENOSPC);
    // O_NONBLOCK: should the name be a FIFO by now, opening it must not wait.
    UniqueFd fd(::openat(dfd, name.c_str(), kOpenMode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return os_error("open", name, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return os_error("fstat", name, errno);
    // Replaced between the stat and the open: what we hold is not what the
    // entry map says. Dropping the watch is the safe answer (polling).
    if (st.st_dev != seen.st_dev || st.st_ino != seen.st_ino) return os_error("watch", name, ESTALE);
    ++open_fds_;
    return fd;
  }

  void release(Entry& e) {
    if (!e.fd.valid()) return;
    by_fd_.erase(e.fd.get());
    e.fd.reset();  // closing it removes its knote
    --open_fds_;
  }

  void drop(int handle) {
    auto it = dirs_.find(handle);
    if (it == dirs_.end()) return;
    Dir& d = it->second;
    for (auto& [name, e] : d.entries) release(e);
    by_inode_.erase(std::make_pair(d.dev, d.ino));
    if (d.fd.valid()) {
      by_fd_.erase(d.fd.get());
      --open_fds_;
    }
    dirs_.erase(it);
  }

  // A deque's push_back never moves earlier names, which the events view.
  static void report(int handle, const std::string& name, unsigned what, bool dir, std::vector<Event>* out,
                     std::deque<std::string>* names) {
    names->push_back(name);
    out->push_back(Event{handle, what, names->back(), dir});
  }

  void wait() {
    sd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                   [this, alive = alive_](boost::system::error_code ec) {
                     if (!*alive) return;  // stopped, and `this` may be gone
                     if (ec) {
                       if (ec != boost::asio::error::operation_aborted) {
                         log::warn("file watch: waiting on kqueue failed (" + ec.message() +
                                   "); treating it as an overflow");
                         std::vector<Event> lost{Event{-1, kOverflow, {}}};
                         on_events_(lost);
                       }
                       return;
                     }
                     drain();
                     if (*alive) wait();
                   });
  }

  // Reads until the queue is empty, so that the cookie, if it came, is
  // reported after everything that was active with it.
  void drain() {
    std::vector<Event> out;
    std::deque<std::string> names;
    bool cookie = false;
    const timespec zero{0, 0};
    std::unique_lock lock(mu_);
    for (;;) {
      struct kevent evs[kBatch];
      int n = ::kevent(kq_, nullptr, 0, evs, kBatch, &zero);
      if (n < 0) {
        if (errno == EINTR) continue;
        log::warn(std::string("file watch: reading kqueue failed (") + std::strerror(errno) +
                  "); treating it as an overflow");
        out.push_back(Event{-1, kOverflow, {}});
        break;
      }
      for (int i = 0; i < n; ++i) handle(evs[i], &out, &names, &cookie);
      if (n < kBatch) break;
    }
    lock.unlock();
    if (cookie) out.push_back(Event{-1, kCookie, {}});
    if (!out.empty()) on_events_(out);
  }

  void handle(const struct kevent& ev, std::vector<Event>* out, std::deque<std::string>* names, bool* cookie) {
    if (ev.filter == EVFILT_USER && ev.ident == kCookieIdent) {
      *cookie = true;
      return;
    }
    if (ev.filter != EVFILT_VNODE || (ev.flags & EV_ERROR) != 0) return;
    auto o = by_fd_.find(static_cast<int>(ev.ident));
    // Released since it fired. (A descriptor closed and reused within one
    // batch can lend an old event to a new entry: one extra kEntry.)
    if (o == by_fd_.end()) return;
    const int handle = o->second.handle;
    auto d = dirs_.find(handle);
    if (d == dirs_.end()) return;
    const unsigned f = ev.fflags;
    if (!o->second.name.empty()) {
      const unsigned what = kEntry | ((f & kCloseWrite) != 0 ? kClosedWrite : 0u);
      auto en = d->second.entries.find(o->second.name);
      report(handle, o->second.name, what, en != d->second.entries.end() && en->second.dir, out, names);
      return;
    }
    if ((f & (NOTE_DELETE | NOTE_REVOKE)) != 0) {
      out->push_back(Event{handle, kSelf | kGone, {}});
      drop(handle);
      return;
    }
    if ((f & NOTE_RENAME) != 0) out->push_back(Event{handle, kSelf, {}});  // still watched, as IN_MOVE_SELF
    if ((f & (NOTE_WRITE | NOTE_EXTEND | NOTE_LINK)) != 0) {
      if (Status s = rescan(handle, d->second, out, names); !s) {
        log::debug("file watch: " + s.error().message() + "; no longer watching that directory (polling)");
        out->push_back(Event{handle, kSelf | kGone, {}});
        drop(handle);
      }
    }
  }

  boost::asio::posix::stream_descriptor sd_;  // waited on by the loop only
  int kq_ = -1;                               // its descriptor, for kevent(2) from any thread
  OnEvents on_events_;
  std::mutex mu_;                                // the members below, and kevent reads
  std::unordered_map<int, Dir> dirs_;            // by handle
  std::map<std::pair<dev_t, ino_t>, int> by_inode_;
  std::unordered_map<int, Owner> by_fd_;         // each descriptor with a knote
  int next_handle_ = 1;
  size_t open_fds_ = 0, budget_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

Result<std::unique_ptr<Backend>> make_kqueue_backend(boost::asio::io_context& io, Backend::OnEvents on_events) {
  auto b = std::make_unique<KqueueBackend>(io, std::move(on_events));
  HS_TRY(b->init());
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace hs::daemon::watch

#endif
