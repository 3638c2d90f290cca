#include "daemon/hashing/jobs.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>

#include "daemon/rpc/errors.hpp"

namespace hs::daemon::hashing {
namespace asio = boost::asio;

namespace {

// On the loop, counted in pending_jobs until `then` has run.
template <class T>
auto on_loop(rpc::Context& ctx, std::function<void(std::optional<T>)> then) {
  ++ctx.pending_jobs;
  // The guard keeps io.run() from returning while a job is out.
  // `then` and the guard are moved to the loop, never copied: `then` holds
  // the reply, and through it the session's ticket, which must be released
  // on the loop thread, not on the hashing worker that destroys the job.
  return [&ctx, then = std::move(then), guard = asio::make_work_guard(ctx.io)](std::optional<T> result) mutable {
    asio::post(ctx.io, [&ctx, then = std::move(then), guard = std::move(guard),
                        result = std::move(result)]() mutable {
      // Counted down even if `then` throws: a shutdown waits for zero.
      struct Done {
        rpc::Context& ctx;
        ~Done() {
          if (--ctx.pending_jobs == 0 && ctx.on_jobs_done) ctx.on_jobs_done();
        }
      } done{ctx};
      auto run = std::move(then);  // released here, on the loop, when this returns
      run(std::move(result));
    });
  };
}

}  // namespace

void hash_then(rpc::Context& ctx, const void* owner, CancelToken cancel, std::vector<std::string> paths,
               std::function<void(std::optional<Hasher::Digests>)> then) {
  ctx.hasher.submit(owner, std::move(cancel), std::move(paths), on_loop<Hasher::Digests>(ctx, std::move(then)));
}

void hash_checked_then(rpc::Context& ctx, const void* owner, CancelToken cancel, std::vector<Hasher::Probe> probes,
                       std::function<void(std::optional<Hasher::Outcomes>)> then) {
  ctx.hasher.submit_checked(owner, std::move(cancel), std::move(probes),
                            on_loop<Hasher::Outcomes>(ctx, std::move(then)));
}

void stats_checked_then(rpc::Context& ctx, const void* owner, CancelToken cancel,
                        std::shared_ptr<const Hasher::StatProbes> probes,
                        std::function<void(std::optional<bool>)> then) {
  ctx.hasher.submit_stats(owner, std::move(cancel), std::move(probes), on_loop<bool>(ctx, std::move(then)));
}

void answer_cancelled(const CancelToken& cancel, const rpc::Reply& reply) {
  if (!cancel.cancelled()) reply(rpc::shutting_down());
}

bool file_missing(const Error& e) { return e.sys_errno == ENOENT || e.sys_errno == ENOTDIR; }

}  // namespace hs::daemon::hashing
