#include "daemon/hashing/jobs.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>

namespace hs::daemon::hashing {
namespace asio = boost::asio;

// On the loop, counted in pending_ until `then` has run.
template <class T>
std::function<void(std::optional<T>)> Jobs::on_loop(std::function<void(std::optional<T>)> then) {
  ++pending_;
  // The guard keeps io.run() from returning while a job is out.
  // `then` and the guard are moved to the loop, never copied: `then` holds
  // the reply, and through it the session's ticket, which must be released
  // on the loop thread, not on the hashing worker that destroys the job.
  // The worker touches only the io_context; this object only on the loop.
  return [this, &io = io_, then = std::move(then), guard = asio::make_work_guard(io_)](
             std::optional<T> result) mutable {
    asio::post(io, [this, then = std::move(then), guard = std::move(guard), result = std::move(result)]() mutable {
      // Counted down even if `then` throws: a shutdown waits for zero.
      struct Done {
        Jobs& jobs;
        ~Done() { jobs.job_done(); }
      } done{*this};
      auto run = std::move(then);  // released here, on the loop, when this returns
      run(std::move(result));
    });
  };
}

void Jobs::job_done() {
  if (--pending_ != 0 || !on_idle_) return;
  auto cb = std::move(on_idle_);
  on_idle_ = nullptr;
  cb();
}

void Jobs::when_idle(std::function<void()> cb) {
  if (pending_ == 0) return cb();
  on_idle_ = std::move(cb);
}

void Jobs::hash_then(const void* owner, CancelToken cancel, std::vector<std::string> paths,
                     std::function<void(std::optional<Hasher::Digests>)> then) {
  hasher_.submit(owner, std::move(cancel), std::move(paths), on_loop<Hasher::Digests>(std::move(then)));
}

void Jobs::hash_checked_then(const void* owner, CancelToken cancel, std::vector<Hasher::Probe> probes,
                             std::function<void(std::optional<Hasher::Outcomes>)> then) {
  hasher_.submit_checked(owner, std::move(cancel), std::move(probes), on_loop<Hasher::Outcomes>(std::move(then)));
}

void Jobs::stats_checked_then(const void* owner, CancelToken cancel, std::shared_ptr<const Hasher::StatProbes> probes,
                              std::function<void(std::optional<bool>)> then) {
  hasher_.submit_stats(owner, std::move(cancel), std::move(probes), on_loop<bool>(std::move(then)));
}

bool file_missing(const Error& e) { return e.sys_errno == ENOENT || e.sys_errno == ENOTDIR; }

}  // namespace hs::daemon::hashing
