// The hashing service: hash.files, state.drift and state.accept hash files
// here, never on the event loop. Long files must not starve short requests,
// a client that leaves must stop costing disk reads, and a shutdown must
// not wait for a terabyte. So a request is cut into chunks (read and hash
// at most chunk_bytes, then requeue), the workers take chunks round-robin
// between connections (the owners of the requests' cancel tokens), and
// each job checks its token, and the service's cancel_all, between chunks.
// A connection's own requests run one after the other, in order: it holds
// at most one open file and one worker however many it sends, and only
// other connections need protecting from it.
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
#include "daemon/cancel.hpp"

namespace hs::daemon {

class Hasher {
 public:
  /// One per path, in the request's order: the hex digest, or why not
  /// (the errors of sha256_file: ENOENT/ENOTDIR when missing, ...).
  using Digests = std::vector<Result<std::string>>;
  /// Called once, on a worker thread: the digests, or nullopt when the job
  /// was cancelled (its token, or cancel_all).
  using Done = std::function<void(std::optional<Digests>)>;

  static constexpr size_t kDefaultChunk = size_t{1} << 20;

  /// `workers` threads (at least 1); each chunk reads at most `chunk_bytes`.
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
  /// Cancels every job, queued or running, and every later one (shutdown).
  /// Running jobs stop after their current chunk. Safe from any thread.
  void cancel_all();

  size_t workers() const { return threads_.size(); }

 private:
  struct Job;
  struct Owner {
    std::deque<std::unique_ptr<Job>> jobs;  // in order; the front one may be started
    bool running = false;                   // a worker has its front job now
  };

  void work();
  /// Advances `job` by about one chunk; true when it is finished.
  bool step(Job& job, std::vector<unsigned char>& buf);
  /// Under mu_: the owner takes its place at the end of the turns.
  void take_turn(const void* owner);

  const size_t chunk_;
  std::mutex mu_;
  std::condition_variable ready_;
  // Owners whose front job waits for a worker, in turn order: an owner is
  // here exactly when it has jobs and none is running.
  std::deque<const void*> turns_;
  std::unordered_map<const void*, Owner> owners_;
  bool stopping_ = false;             // under mu_: the destructor runs
  std::atomic<bool> cancelled_{false};  // cancel_all
  std::vector<std::thread> threads_;
};

}  // namespace hs::daemon
