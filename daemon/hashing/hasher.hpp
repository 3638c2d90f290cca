// The hashing service: hash.files, state.drift and state.accept hash files
// here, never on the event loop. Long files must not starve short requests,
// a client that leaves must stop costing disk reads, a shutdown must not
// wait for a terabyte, and cold hashing should use every core. So:
// - a request is cut into slices (read and hash at most chunk_bytes, or
//   open at most 64 files, then requeue);
// - the workers take slices round-robin between connections (the owners of
//   the requests' cancel tokens): an owner with more work goes to the back
//   of the turns after each slice, so while nobody else waits all workers
//   hash its request's files in parallel, and when others wait they take
//   turns with it;
// - each slice checks the request's token, and the service's cancel_all.
// A connection's own requests are answered in the order it sent them: only
// its oldest unfinished request is worked on (by one or more workers).
//
// Stat probes (submit_checked): a path may come with the stat the stat
// cache knows for it; a worker stats it and, when the stat is the same,
// answers "matched" without reading the file.
// Stat checks (submit_stats): only the stats, for a drift whose every file
// was hashed before; no digests, and no per-file allocation, because that
// is most of what is left of the cost of an unchanged target. The answer is
// one bit (all the same, or not), so the job stops at the first difference.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/cancel.hpp"
#include "common/file_stat.hpp"

namespace hs::daemon::hashing {

class Hasher {
 public:
  /// One per path, in the request's order: the hex digest, or why not
  /// (the errors of sha256_file: ENOENT/ENOTDIR when missing, ...).
  using Digests = std::vector<Result<std::string>>;
  /// Called once, on a worker thread: the digests, or nullopt when the job
  /// was cancelled (its token, or cancel_all).
  using Done = std::function<void(std::optional<Digests>)>;

  /// A path to hash, unless its stat equals `known`.
  /// `at`, when set, names the path instead of `path` without a copy: the
  /// caller keeps that string alive and unchanged until the job's Done ran.
  struct Probe {
    std::string path;
    std::optional<FileStat> known;
    const std::string* at = nullptr;
    const std::string& name() const { return at != nullptr ? *at : path; }
  };
  struct Outcome {
    bool matched = false;                       // stat == known: the cached digest holds
    Result<std::string> digest = std::string();  // when !matched: the digest or why not
    std::optional<FileStat> stat;               // when hashed: fstat of what was read
    bool racy = true;                           // when hashed: see stat_cache.hpp
  };
  using Outcomes = std::vector<Outcome>;
  using CheckedDone = std::function<void(std::optional<Outcomes>)>;

  /// Whether `*path`'s stat(2) still equals `*known`. Both belong to the
  /// caller, alive and unchanged until the job's Done ran.
  struct StatProbe {
    const std::string* path;
    const FileStat* known;
  };
  using StatProbes = std::vector<StatProbe>;
  /// True when every probe's stat was its `known`; false when one differed
  /// or failed (the rest may not have been stat'ed); nullopt when
  /// cancelled. Called once, on a worker thread.
  using StatsDone = std::function<void(std::optional<bool>)>;

  static constexpr size_t kDefaultChunk = size_t{1} << 20;

  /// The default worker count: one per core, at least 2.
  static size_t default_workers();

  /// `workers` threads (at least 1); each slice reads at most `chunk_bytes`.
  explicit Hasher(size_t workers, size_t chunk_bytes = kDefaultChunk);
  /// Cancels everything and joins the workers (every Done has been called).
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  /// Queues the hashing of `paths` for `owner` (a connection: turns are
  /// taken between owners), cancelled by `cancel` or cancel_all.
  void submit(const void* owner, CancelToken cancel, std::vector<std::string> paths, Done done);
  /// The same, for the connection whose token `cancel` is.
  void submit(CancelToken cancel, std::vector<std::string> paths, Done done) {
    const void* owner = cancel.owner();
    submit(owner, std::move(cancel), std::move(paths), std::move(done));
  }
  /// The same with stat probes; the outcomes in `probes`' order.
  void submit_checked(const void* owner, CancelToken cancel, std::vector<Probe> probes, CheckedDone done);
  /// The same with stat checks only; `probes` is shared, so a caller that
  /// asks the same question again need not build it again. REQUIRES:
  /// `probes` and `done` set.
  void submit_stats(const void* owner, CancelToken cancel, std::shared_ptr<const StatProbes> probes, StatsDone done);
  /// Cancels every job, queued or running, and every later one (shutdown).
  /// Running jobs stop after their current slice. Safe from any thread.
  void cancel_all();

  /// The worker threads asked for (they start with the first job).
  size_t workers() const { return workers_; }
  /// The most workers seen in one job at once (tests, benchmarks).
  size_t peak_parallel() const { return peak_.load(std::memory_order_relaxed); }

 private:
  struct Job;
  struct Parked;
  struct Owner {
    std::deque<std::unique_ptr<Job>> jobs;  // in order; only the front one is worked on
    bool queued = false;                    // in turns_
    bool delivering = false;                // a worker is answering its front job(s)
  };

  void work();
  /// Under mu_: starts the workers if none runs yet; throws
  /// std::system_error when not one can be started.
  void start_locked();
  /// Takes mu_: puts `job` last in its owner's queue.
  void enqueue(std::unique_ptr<Job> job);
  /// Under mu_: queues `owner` for a worker if its front job has a slice
  /// to give, or is over and waits to be answered.
  void maybe_queue(const void* owner);
  /// Under mu_: takes the owner's front jobs that are over into `out`, to
  /// be answered without the lock (the owner waits until they are, so its
  /// answers keep its order); else queues the owner again or forgets it.
  void settle(const void* owner, std::vector<std::unique_ptr<Job>>& out);
  /// Under mu_: after `owner`'s answers were delivered; settle() next.
  void delivered(const void* owner);
  static void deliver(Job& job);

  const size_t chunk_;
  const size_t workers_;
  std::mutex mu_;
  std::condition_variable ready_;
  // Owners with a slice to give (or an answer to send), in turn order.
  std::deque<const void*> turns_;
  std::unordered_map<const void*, Owner> owners_;
  bool stopping_ = false;               // under mu_: the destructor runs
  std::atomic<bool> cancelled_{false};  // cancel_all
  std::atomic<size_t> peak_{0};
  std::vector<std::thread> threads_;
};

}  // namespace hs::daemon::hashing
