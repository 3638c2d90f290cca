#include "daemon/hashing/hasher.hpp"

#include <algorithm>
#include <exception>

#include "common/log.hpp"
#include "common/sha256.hpp"

namespace hs::daemon {
namespace {

// A chunk also ends after this many files opened, so a request of many
// small (or missing) files takes turns too.
constexpr size_t kMaxOpensPerChunk = 64;
// Reads go through a buffer of at most this size; a chunk is one or more.
constexpr size_t kMaxBuffer = size_t{1} << 20;

}  // namespace

struct Hasher::Job {
  const void* owner = nullptr;
  CancelToken cancel;
  std::vector<std::string> paths;
  Digests out;                     // one per path finished, in order
  std::optional<FileSha256> file;  // the path being hashed, paths[out.size()]
  Done done;
};

Hasher::Hasher(size_t workers, size_t chunk_bytes) : chunk_(std::max<size_t>(chunk_bytes, 1)) {
  workers = std::max<size_t>(workers, 1);
  threads_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
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
  auto job = std::make_unique<Job>();
  job->owner = owner;
  job->cancel = std::move(cancel);
  job->paths = std::move(paths);
  job->out.reserve(job->paths.size());
  job->done = std::move(done);
  {
    std::lock_guard lk(mu_);
    Owner& o = owners_[owner];
    o.jobs.push_back(std::move(job));
    if (o.running || o.jobs.size() > 1) return;  // it gets its turn later
    take_turn(owner);
  }
}

void Hasher::cancel_all() { cancelled_.store(true, std::memory_order_relaxed); }

void Hasher::take_turn(const void* owner) {
  turns_.push_back(owner);
  ready_.notify_one();
}

bool Hasher::step(Job& job, std::vector<unsigned char>& buf) {
  size_t budget = chunk_;
  size_t opens = 0;
  while (budget > 0) {
    if (!job.file) {
      if (job.out.size() == job.paths.size()) return true;
      if (opens++ == kMaxOpensPerChunk) return false;
      auto opened = FileSha256::open(job.paths[job.out.size()]);
      if (!opened) {
        job.out.emplace_back(std::move(opened).error());
        continue;
      }
      job.file.emplace(std::move(*opened));
    }
    auto n = job.file->step(buf, budget);
    if (!n) {
      job.out.emplace_back(std::move(n).error());
      job.file.reset();
      continue;
    }
    budget -= std::min(*n, budget);
    if (job.file->done()) {
      job.out.emplace_back(job.file->hex());
      job.file.reset();
    }
  }
  return !job.file && job.out.size() == job.paths.size();
}

void Hasher::work() {
  std::vector<unsigned char> buf(std::min(chunk_, kMaxBuffer));
  for (;;) {
    std::unique_ptr<Job> job;
    const void* owner = nullptr;
    {
      std::unique_lock lk(mu_);
      ready_.wait(lk, [this] { return stopping_ || !turns_.empty(); });
      if (turns_.empty()) return;  // stopping, and every job is done
      owner = turns_.front();
      turns_.pop_front();
      Owner& o = owners_.at(owner);
      job = std::move(o.jobs.front());
      o.jobs.pop_front();
      o.running = true;
    }
    // Between chunks: nobody waits for this answer any more (the client
    // left), or the daemon stops. Either way, stop reading.
    const bool cancelled = cancelled_.load(std::memory_order_relaxed) || job->cancel.cancelled();
    const bool finished = cancelled || step(*job, buf);
    {
      std::lock_guard lk(mu_);
      auto it = owners_.find(owner);
      it->second.running = false;
      if (!finished) it->second.jobs.push_front(std::move(job));
      if (it->second.jobs.empty()) {
        owners_.erase(it);
      } else {
        take_turn(owner);  // after every other owner waiting now
      }
    }
    if (!finished) continue;
    job->file.reset();
    try {
      job->done(cancelled ? std::nullopt : std::optional<Digests>(std::move(job->out)));
    } catch (const std::exception& e) {
      // A worker must not die (std::terminate) for one answer.
      log::error(std::string("hashing: delivering a result failed: ") + e.what());
    }
  }
}

}  // namespace hs::daemon
