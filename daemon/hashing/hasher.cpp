#include "daemon/hashing/hasher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <ctime>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "daemon/hashing/stat_cache.hpp"
#include "daemon/watch/worker.hpp"

namespace hs::daemon::hashing {
namespace {

// A slice also ends after this many files opened, or this many stat
// probes that matched, so a request of many small (or missing, or
// unchanged) files takes turns too.
constexpr size_t kMaxOpensPerSlice = 64;
constexpr size_t kMaxStatsPerSlice = 1024;
// Stat checks (submit_stats) take this many at once: small enough that the
// workers share a request evenly, large enough that taking is rare.
constexpr size_t kStatChecksPerSlice = 256;
// Reads go through a buffer of at most this size; a slice is one or more.
constexpr size_t kMaxBuffer = size_t{1} << 20;

// Stat probes of one slice, relative to an open directory: a drift's paths
// come grouped by directory, and fstatat(2) of a name in it skips the walk
// of every component of an absolute path (git's lstat is relative to its
// work tree for the same reason). The directory is opened after the request
// began, so a stat through it sees the file that was at the path at some
// moment since: as good as stat(2) of the whole path, for a check that
// answers for the disk at some moment after its request. Closed at the end
// of the slice.
class DirStats {
 public:
  DirStats() = default;
  DirStats(const DirStats&) = delete;
  DirStats& operator=(const DirStats&) = delete;
  ~DirStats() { close(); }

  /// stat(2) of `path`, following symlinks; nullopt on any error.
  std::optional<FileStat> of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash + 1 == path.size()) return FileStat::of_path(path);
    const std::string_view dir(path.data(), slash == 0 ? 1 : slash);
    if (fd_ < 0 || dir != dir_) {
      close();
      dir_.assign(dir);
      fd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd_ < 0) return FileStat::of_path(path);  // its error, as stat(2) reports it
    }
    struct stat st {};
    if (::fstatat(fd_, path.c_str() + slash + 1, &st, 0) != 0) return std::nullopt;
    return FileStat::of(st);
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  std::string dir_;
};

int64_t realtime_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

// A file a slice left unfinished, for the next slice (any worker).
struct Hasher::Parked {
  size_t index;
  FileSha256 file;
  FileStat st;
  int64_t started_ns;
};

struct Hasher::Job {
  const void* owner = nullptr;
  CancelToken cancel;
  // Either probes (out, done) or, when stat_probes is set, stat checks.
  std::vector<Probe> probes;
  Outcomes out;  // one per probe; each written by the one worker that took it
  CheckedDone done;
  std::shared_ptr<const StatProbes> stat_probes;
  StatsDone stats_done;
  size_t size = 0;  // probes or stat checks
  // Under mu_:
  size_t next = 0;             // the first probe no worker has taken
  std::deque<Parked> parked;   // started files waiting for a slice
  size_t finished = 0;         // outcomes written (stat checks: decided)
  size_t active = 0;           // workers in a slice of this job
  bool cancelled = false;
  bool differs = false;        // stat checks: one differed; no more are taken

  bool has_slice() const { return !cancelled && (next < size || !parked.empty()); }
  bool over() const { return active == 0 && (cancelled || finished == size); }
};

size_t Hasher::default_workers() { return std::max<size_t>(std::thread::hardware_concurrency(), 2); }

Hasher::Hasher(size_t workers, size_t chunk_bytes)
    : chunk_(std::max<size_t>(chunk_bytes, 1)), workers_(std::max<size_t>(workers, 1)) {}

void Hasher::start_locked() {
  // The workers start with the first job, not with the daemon: a cold
  // start (a client spawning the daemon for one ping) pays for no thread
  // it does not use; docs/PERFORMANCE.md, "hsctl cold start". Fewer than
  // asked for is fine; none at all fails the job's submit.
  if (!threads_.empty()) return;
  threads_.reserve(workers_);
  for (size_t i = 0; i < workers_; ++i) {
    std::thread t;
    if (!watch::start_once(t, [this] { work(); }, "a hashing worker")) break;
    threads_.push_back(std::move(t));
  }
  if (threads_.empty()) throw std::system_error(EAGAIN, std::generic_category(), "no hashing thread could start");
}

Hasher::~Hasher() {
  cancel_all();
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void Hasher::submit(const void* owner, CancelToken cancel, std::vector<std::string> paths, Done done) {
  std::vector<Probe> probes;
  probes.reserve(paths.size());
  for (auto& p : paths) probes.push_back(Probe{std::move(p), std::nullopt});
  submit_checked(owner, std::move(cancel), std::move(probes), [done = std::move(done)](std::optional<Outcomes> o) {
    if (!o) return done(std::nullopt);
    Digests d;
    d.reserve(o->size());
    for (auto& x : *o) d.push_back(std::move(x.digest));
    done(std::move(d));
  });
}

void Hasher::submit_checked(const void* owner, CancelToken cancel, std::vector<Probe> probes, CheckedDone done) {
  auto job = std::make_unique<Job>();
  job->owner = owner;
  job->cancel = std::move(cancel);
  job->probes = std::move(probes);
  job->size = job->probes.size();
  job->out.resize(job->size);
  job->done = std::move(done);
  enqueue(std::move(job));
}

void Hasher::submit_stats(const void* owner, CancelToken cancel, std::shared_ptr<const StatProbes> probes,
                          StatsDone done) {
  assert(probes && done);
  auto job = std::make_unique<Job>();
  job->owner = owner;
  job->cancel = std::move(cancel);
  job->size = probes->size();
  job->stat_probes = std::move(probes);
  job->stats_done = std::move(done);
  enqueue(std::move(job));
}

void Hasher::enqueue(std::unique_ptr<Job> job) {
  const void* owner = job->owner;
  std::lock_guard lk(mu_);
  start_locked();
  owners_[owner].jobs.push_back(std::move(job));
  maybe_queue(owner);
}

void Hasher::cancel_all() {
  cancelled_.store(true, std::memory_order_relaxed);
  // Owners whose every file is taken are in no turn; their workers see the
  // flag at the end of their slice. Nothing else to wake.
}

void Hasher::maybe_queue(const void* owner) {
  Owner& o = owners_.at(owner);
  if (o.queued || o.delivering || o.jobs.empty()) return;
  const Job& j = *o.jobs.front();
  if (!j.has_slice() && !j.over()) return;  // its workers will settle it
  o.queued = true;
  turns_.push_back(owner);
  ready_.notify_one();
}

void Hasher::settle(const void* owner, std::vector<std::unique_ptr<Job>>& out) {
  auto it = owners_.find(owner);
  Owner& o = it->second;
  while (!o.jobs.empty() && o.jobs.front()->over()) {
    out.push_back(std::move(o.jobs.front()));
    o.jobs.pop_front();
    o.delivering = true;
  }
  if (o.delivering) return;  // delivered() goes on
  if (o.jobs.empty() && !o.queued) {
    owners_.erase(it);
    return;
  }
  maybe_queue(owner);
}

void Hasher::delivered(const void* owner) { owners_.at(owner).delivering = false; }

void Hasher::deliver(Job& job) {
  job.parked.clear();  // closes their files now
  try {
    if (job.stat_probes) {
      job.stats_done(job.cancelled ? std::nullopt : std::optional<bool>(!job.differs));
    } else {
      job.done(job.cancelled ? std::nullopt : std::optional<Outcomes>(std::move(job.out)));
    }
  } catch (const std::exception& e) {
    // A worker must not die (std::terminate) for one answer.
    log::error(std::string("hashing: delivering a result failed: ") + e.what());
  }
}

void Hasher::work() {
  // Not zeroed: read() fills what is used. Zeroing a megabyte per worker
  // was about half of the daemon's CPU time in a cold start (when workers
  // started with the daemon), faulting in pages a small file never uses.
  const size_t buf_size = std::min(chunk_, kMaxBuffer);
  const auto buf_mem = std::make_unique_for_overwrite<unsigned char[]>(buf_size);
  const std::span<unsigned char> buf(buf_mem.get(), buf_size);
  std::vector<std::unique_ptr<Job>> answers;
  std::unique_lock lk(mu_);
  for (;;) {
    ready_.wait(lk, [this] { return stopping_ || !turns_.empty(); });
    if (turns_.empty()) return;  // stopping, and every job is answered
    const void* owner = turns_.front();
    turns_.pop_front();
    Owner& o = owners_.at(owner);
    o.queued = false;
    if (o.jobs.empty() || o.delivering) {
      // Queued while it had work, which another worker then finished.
      if (o.jobs.empty() && !o.delivering) owners_.erase(owner);
      continue;
    }
    Job& job = *o.jobs.front();
    // Before each slice: nobody waits for this answer any more (the client
    // left), or the daemon stops. Either way, stop reading.
    if (cancelled_.load(std::memory_order_relaxed) || job.cancel.cancelled()) job.cancelled = true;
    if (!job.has_slice()) {
      settle(owner, answers);
    } else {
      // Take the first piece: a parked file, or the next probe.
      std::optional<Parked> cur;
      size_t index = 0;
      size_t end = 0;  // stat checks: the slice is [index, end)
      if (!job.parked.empty()) {
        cur.emplace(std::move(job.parked.front()));
        job.parked.pop_front();
      } else if (job.stat_probes) {
        // Taken as a range: one lock per file would cost as much as its stat.
        index = job.next;
        end = std::min(job.size, index + kStatChecksPerSlice);
        job.next = end;
      } else {
        index = job.next++;
      }
      ++job.active;
      if (job.active > peak_.load(std::memory_order_relaxed)) peak_.store(job.active, std::memory_order_relaxed);
      maybe_queue(owner);  // more to take: another worker may join now
      lk.unlock();

      size_t budget = chunk_;
      size_t opens = 0;
      size_t stats = 0;
      size_t finished = 0;
      DirStats dirs;
      bool differs = false;
      if (job.stat_probes) {
        finished = end - index;  // checked, or decided by a difference
        for (; index < end; ++index) {
          const StatProbe& p = (*job.stat_probes)[index];
          auto now = dirs.of(*p.path);
          if (!now || *now != *p.known) {
            differs = true;
            break;
          }
        }
      }
      // Probes: a slice of them ends by a break.
      while (!job.stat_probes) {
        if (!cur) {
          // A new probe: `index` is ours.
          const Probe& p = job.probes[index];
          Outcome& out = job.out[index];
          bool started = false;
          if (p.known) {
            auto now = dirs.of(p.name());
            ++stats;
            if (now && *now == *p.known) {
              out.matched = true;
              ++finished;
            } else {
              started = true;
            }
          } else {
            started = true;
          }
          if (started) {
            ++opens;
            const int64_t t0 = realtime_ns();
            auto opened = FileSha256::open(p.name());
            struct stat st {};
            if (!opened) {
              out.digest = std::move(opened).error();
              ++finished;
            } else if (::fstat(opened->fd(), &st) != 0) {
              out.digest = os_error("stat", p.name(), errno);
              ++finished;
            } else {
              cur.emplace(Parked{index, std::move(*opened), FileStat::of(st), t0});
            }
          }
        }
        if (cur) {
          Outcome& out = job.out[cur->index];
          auto n = cur->file.step(buf, budget);
          if (!n) {
            out.digest = std::move(n).error();
            cur.reset();
            ++finished;
          } else {
            budget -= std::min(*n, budget);
            if (cur->file.done()) {
              out.digest = cur->file.hex();
              out.stat = cur->st;
              out.racy = racy(cur->st, cur->started_ns);
              cur.reset();
              ++finished;
            }
          }
        }
        if (cur || budget == 0 || opens >= kMaxOpensPerSlice || stats >= kMaxStatsPerSlice) break;
        lk.lock();
        const bool more = !job.cancelled && job.next < job.size;
        if (more) index = job.next++;
        lk.unlock();
        if (!more) break;
      }

      lk.lock();
      --job.active;
      if (differs && !job.differs) {
        // The answer is known: what nobody took yet is decided too.
        job.differs = true;
        job.finished += job.size - job.next;
        job.next = job.size;
      }
      job.finished += finished;
      if (cur) job.parked.push_back(std::move(*cur));
      if (cancelled_.load(std::memory_order_relaxed) || job.cancel.cancelled()) job.cancelled = true;
      settle(owner, answers);
    }
    while (!answers.empty()) {
      lk.unlock();
      for (auto& a : answers) deliver(*a);
      answers.clear();
      lk.lock();
      delivered(owner);
      settle(owner, answers);  // the next job may be over already (no paths, cancelled)
    }
  }
}

}  // namespace hs::daemon::hashing
