// The loop side of hashing: jobs go to the Hasher's threads (fair, chunked,
// cancellable), and their answers come back on the event loop. Every job
// is counted until its answer has run there, so that a graceful shutdown
// can wait for the last one (when_idle); Hasher::cancel_all must come
// first for that wait to be short.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.hpp"
#include "common/error.hpp"
#include "daemon/hashing/hasher.hpp"

namespace hs::daemon::hashing {

class Jobs {
 public:
  Jobs(boost::asio::io_context& io, Hasher& hasher) : io_(io), hasher_(hasher) {}
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  /// Hashes `paths` for `owner` (the caller's connection: CancelToken::owner),
  /// cancelled by `cancel` or at shutdown; `then` runs on the loop with the
  /// digests, or nullopt when cancelled.
  void hash_then(const void* owner, CancelToken cancel, std::vector<std::string> paths,
                 std::function<void(std::optional<Hasher::Digests>)> then);
  /// The same with stat probes (Hasher::submit_checked), for drift checks.
  void hash_checked_then(const void* owner, CancelToken cancel, std::vector<Hasher::Probe> probes,
                         std::function<void(std::optional<Hasher::Outcomes>)> then);
  /// The same with stat checks only (Hasher::submit_stats), for drift checks.
  void stats_checked_then(const void* owner, CancelToken cancel, std::shared_ptr<const Hasher::StatProbes> probes,
                          std::function<void(std::optional<bool>)> then);

  /// Jobs submitted whose answer has not run on the loop yet.
  size_t pending() const { return pending_; }
  /// Runs `cb` once no job is pending: at once when none is, else on the
  /// loop right after the last one's answer has run. One waiter at a time.
  void when_idle(std::function<void()> cb);

 private:
  template <class T>
  std::function<void(std::optional<T>)> on_loop(std::function<void(std::optional<T>)> then);
  void job_done();

  boost::asio::io_context& io_;
  Hasher& hasher_;
  size_t pending_ = 0;
  std::function<void()> on_idle_;
};

/// Whether a hashing error means "no such file" (a missing file, or a
/// path through a non-directory), as opposed to one that cannot be read.
bool file_missing(const Error& e);

}  // namespace hs::daemon::hashing
