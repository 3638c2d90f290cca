#include "daemon/watch/poll_backend.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::watch {
namespace {

// A ctime this close to a scan's start may hide a later change in the same
// tick of the file system's clock (a few ms; generous for clocks apart).
constexpr int64_t kRacyNs = 100'000'000;
// A change this old (no write since) is complete as far as polling can
// tell: kClosedWrite.
constexpr std::chrono::milliseconds kQuiet{250};
constexpr int64_t kQuietNs = 250'000'000;
// A racy file up to this size has its content kept (as a digest) when it
// is first listed; a larger one is reported at the next scan, changed or not.
constexpr int64_t kDigestMax = int64_t{1} << 20;

int64_t ns_of(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

int64_t realtime_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return ns_of(t);
}

struct OwnedEvent {
  int handle;
  unsigned what;
  std::string name;
  bool dir;
};

}  // namespace

struct PollBackend::Entry {
  // What it was when last reported (or first listed); the scans compare
  // the entry now with it until a change is reported.
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;
  nlink_t nlink = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  off_t size = 0;
  int64_t mtime = 0;
  int64_t ctime = 0;
  bool racy = false;     // listed within a clock tick of a change: may hide one
  bool pending = false;  // a change reported, not yet as complete (not quiet)
  // Of a racy regular file: its content's digest, taken after the stat above
  // (racy_digest); a scan that finds the same stat compares it instead.
  std::optional<std::string> digest;

  // A directory entry changes with what is in it (its times, size, links):
  // that is its own watch's business, as with inotify; only what the
  // directory itself is counts here.
  bool same(const Entry& o) const {
    if (dev != o.dev || ino != o.ino || mode != o.mode || uid != o.uid || gid != o.gid) return false;
    return S_ISDIR(mode) || (nlink == o.nlink && size == o.size && mtime == o.mtime && ctime == o.ctime);
  }
};

struct PollBackend::Dir {
  int handle = -1;
  std::string path;
  bool follow_link = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::unordered_map<std::string, Entry> entries;
};

namespace {

// The SHA-256 of `path`'s content, if it is still the regular file `e`
// describes before and after the read (no change in between that a stat
// shows); nullopt otherwise, or when it cannot be read or is too large.
// Read after `e` was taken: a change after `e` that no stat can show (same
// clock tick, same size) is either in the digest, or after it, where a
// later digest differs.
std::optional<std::string> racy_digest(const std::string& path, const PollBackend::Entry& e) {
  if (!S_ISREG(e.mode) || e.size > kDigestMax) return std::nullopt;
  auto same = [&](int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && st.st_dev == e.dev && st.st_ino == e.ino && st.st_size == e.size &&
           ns_of(st.st_mtim) == e.mtime && ns_of(st.st_ctim) == e.ctime;
  };
  auto f = FileSha256::open(path);
  if (!f || !same(f->fd())) return std::nullopt;
  std::vector<unsigned char> buf(64 * 1024);
  while (!f->done()) {
    auto n = f->step(std::span(buf), buf.size());
    if (!n) return std::nullopt;
  }
  if (!same(f->fd())) return std::nullopt;
  return f->hex();
}

// The events of one directory's scan: `d` holds what was reported (it is
// updated), `now` what is there. A change is reported when first seen
// (kEntry, as inotify's IN_MODIFY) and, once quiet (its ctime kQuiet old:
// no write since), as complete (kEntry | kClosedWrite, with kSettled when
// nothing changed since it was first seen); one found quiet already is
// reported once, complete. A removal at once. `soon`: a change waits to be
// quiet.
void diff(PollBackend::Dir& d, PollBackend::Dir& now, int64_t started, std::vector<OwnedEvent>& out, bool& soon) {
  using B = Backend;
  for (auto it = d.entries.begin(); it != d.entries.end();) {
    if (now.entries.count(it->first) == 0) {
      out.push_back(OwnedEvent{d.handle, B::kEntry, it->first, S_ISDIR(it->second.mode)});
      it = d.entries.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, n] : now.entries) {
    // A directory's ctime moves with what is made in it: it is never
    // waited for (made, replaced or chmod'ed: one event).
    const bool quiet = S_ISDIR(n.mode) || n.ctime < started - kQuietNs;
    auto it = d.entries.find(name);
    const bool fresh = it == d.entries.end();
    if (!fresh && it->second.same(n)) {
      PollBackend::Entry& was = it->second;
      // The stat the same: unchanged, unless it was racy (taken within a
      // tick of its ctime: a change in that tick keeping the size does not
      // show), where the content decides. Once the clock is past that
      // tick, a later change shows in the stat.
      if (!was.racy || (was.digest && racy_digest(d.path + "/" + name, n) == was.digest)) {
        if (was.racy && n.ctime < started - kRacyNs) {
          was.racy = false;
          was.digest.reset();
        }
        if (!was.pending) continue;
        if (!quiet) {
          soon = true;
          continue;
        }
        // Complete now, and nothing changed since it was reported: a reader
        // of changes has seen it (a trigger would run twice for one write).
        out.push_back(OwnedEvent{d.handle, B::kEntry | B::kClosedWrite | B::kSettled, name, S_ISDIR(n.mode)});
        was.pending = false;
        continue;
      }
    }
    PollBackend::Entry& was = fresh ? d.entries[name] : it->second;
    was = n;
    if (quiet) {  // older than a tick: not racy
      out.push_back(OwnedEvent{d.handle, B::kEntry | B::kClosedWrite, name, S_ISDIR(n.mode)});
      continue;
    }
    out.push_back(OwnedEvent{d.handle, B::kEntry, name, S_ISDIR(n.mode)});
    was.pending = true;  // reported complete once quiet
    was.racy = n.ctime >= started - kRacyNs;
    if (was.racy) was.digest = racy_digest(d.path + "/" + name, n);
    soon = true;
  }
}

}  // namespace

PollBackend::PollBackend(boost::asio::io_context& io, OnEvents on_events, std::chrono::milliseconds every)
    : io_(io), on_events_(std::move(on_events)), every_(every), worker_([this] { work(); }) {}

PollBackend::~PollBackend() {
  stop();
  if (worker_.joinable()) worker_.join();
}

void PollBackend::stop() {
  *alive_ = false;
  std::lock_guard lk(mu_);
  quit_ = true;
  cv_.notify_all();
}

// The directory's entries now, or null with `err` (ENOENT, ENOTDIR, EACCES,
// ELOOP for a symlink not to be followed, ...).
std::shared_ptr<PollBackend::Dir> PollBackend::list(const std::string& path, bool follow_link, int& err) const {
  err = 0;
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (!follow_link) flags |= O_NOFOLLOW;
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    err = errno;
    return nullptr;
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    err = errno;
    return nullptr;
  }
  auto d = std::make_shared<Dir>();
  d->path = path;
  d->follow_link = follow_link;
  d->dev = st.st_dev;
  d->ino = st.st_ino;
  int walk = ::dup(fd);  // closedir closes what fdopendir took
  if (walk < 0) {
    err = errno;
    return nullptr;
  }
  DIR* dir = ::fdopendir(walk);
  if (dir == nullptr) {
    err = errno;
    ::close(walk);
    return nullptr;
  }
  while (struct dirent* de = ::readdir(dir)) {
    const std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    struct stat es {};
    // Gone since the listing: as if never listed (its removal is the next
    // scan's, or this one's for the caller comparing).
    if (::fstatat(fd, name.c_str(), &es, AT_SYMLINK_NOFOLLOW) != 0) continue;
    Entry e;
    e.dev = es.st_dev;
    e.ino = es.st_ino;
    e.mode = es.st_mode;
    e.nlink = es.st_nlink;
    e.uid = es.st_uid;
    e.gid = es.st_gid;
    e.size = es.st_size;
    e.mtime = ns_of(es.st_mtim);
    e.ctime = ns_of(es.st_ctim);
    d->entries.emplace(name, e);
  }
  ::closedir(dir);
  return d;
}

Status PollBackend::adopt(int handle, const std::string& dir, bool follow_link) {
  const int64_t started = realtime_ns();
  int err = 0;
  auto d = list(dir, follow_link, err);
  if (!d) return os_error("opendir", dir, err);
  d->handle = handle;
  for (auto& [name, e] : d->entries) {
    e.racy = !S_ISDIR(e.mode) && e.ctime >= started - kRacyNs;
    if (e.racy) e.digest = racy_digest(dir + "/" + name, e);
  }
  std::lock_guard lk(mu_);
  dirs_[handle] = std::move(d);
  return {};
}

Result<int> PollBackend::add_dir(const std::string& dir, bool follow_link) {
  int handle;
  {
    std::lock_guard lk(mu_);
    handle = next_handle_++;
  }
  HS_TRY(adopt(handle, dir, follow_link));
  return handle;
}

void PollBackend::remove(int handle) {
  std::lock_guard lk(mu_);
  dirs_.erase(handle);
}

Status PollBackend::request_cookie() {
  std::lock_guard lk(mu_);
  if (quit_) return os_error("poll", "sync cookie", EBADF);
  ++cookies_;
  cv_.notify_all();
  return {};
}

void PollBackend::work() {
  auto next = std::chrono::steady_clock::now() + every_;
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait_until(lk, next, [&] { return quit_ || cookies_ > 0 || std::chrono::steady_clock::now() >= next; });
    if (quit_) return;
    // A scan that starts now answers every cookie asked for before it.
    const unsigned cookies = cookies_;
    cookies_ = 0;
    next = std::chrono::steady_clock::now() + every_;
    std::vector<std::shared_ptr<Dir>> todo;
    todo.reserve(dirs_.size());
    for (const auto& [h, d] : dirs_) todo.push_back(d);
    lk.unlock();

    const int64_t started = realtime_ns();
    std::vector<OwnedEvent> out;
    std::vector<int> gone;
    bool soon = false;
    for (const auto& d : todo) {
      int err = 0;
      auto now = list(d->path, d->follow_link, err);
      if (!now || now->dev != d->dev || now->ino != d->ino) {
        // Deleted, moved away or replaced: the handle ends here, as inotify's
        // IN_IGNORED (its user watches what is at the path again, if anything).
        out.push_back(OwnedEvent{d->handle, kSelf | kGone, {}, false});
        gone.push_back(d->handle);
        continue;
      }
      diff(*d, *now, started, out, soon);
    }
    for (unsigned i = 0; i < cookies; ++i) out.push_back(OwnedEvent{-1, kCookie, {}, false});

    lk.lock();
    for (int h : gone) dirs_.erase(h);
    // A change still being written is looked at again shortly.
    if (soon) next = std::min(next, std::chrono::steady_clock::now() + kQuiet);
    if (out.empty()) continue;
    boost::asio::post(io_, [this, alive = alive_, out = std::move(out)] {
      if (!*alive) return;
      std::vector<Event> evs;
      evs.reserve(out.size());
      for (const auto& e : out) evs.push_back(Event{e.handle, e.what, e.name, e.dir});
      on_events_(evs);
    });
  }
}

}  // namespace hs::daemon::watch
