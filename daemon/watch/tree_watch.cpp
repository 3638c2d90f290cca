#include "daemon/watch/tree_watch.hpp"

#include <boost/asio/post.hpp>

#include "common/log.hpp"
#include "daemon/watch/tree_scan.hpp"
#include "daemon/watch/worker.hpp"

namespace hs::daemon::watch {
namespace asio = boost::asio;

TreeWatch::TreeWatch(asio::io_context& io, Config cfg, OnChange on_change)
    : io_(io), cfg_(cfg), on_change_(std::move(on_change)) {
  auto b = make_backend(io_, [this](const std::vector<Backend::Event>& evs) { on_backend_events(evs); });
  if (b) {
    backend_ = std::move(*b);
  } else {
    log::warn("trigger watch: " + b.error().message() + "; watched paths are polled by stat every " +
              std::to_string(cfg_.poll_every.count()) + " ms instead");
  }
  // The backend is only used from the worker from here on (add_dir,
  // remove, events_unreliable only read its descriptor's number), except
  // request_cookie and stop, on the loop; stop() joins the worker first.
  // The worker starts with the first job (post_work): a daemon with no
  // trigger runs no thread for them.
  model_ = std::make_unique<TreeModel>(backend_.get(), cfg_.max_watches);
}

TreeWatch::~TreeWatch() { stop(); }

void TreeWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  std::thread worker;
  {
    std::lock_guard lk(mu_);
    quit_ = true;
    worker = std::move(worker_);
  }
  cv_.notify_one();
  if (worker.joinable()) worker.join();
  model_->release_all();
  if (backend_) backend_->stop();
  // A sync waiting for a cookie that will never come is answered now.
  for (auto& w : cookie_waiters_) asio::post(io_, std::move(w));
  for (auto& w : next_waiters_) asio::post(io_, std::move(w));
  cookie_waiters_.clear();
  next_waiters_.clear();
}

// ---- the worker ----

void TreeWatch::post_work(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (quit_) return;
    if (start_locked()) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  // No thread (the process is at its thread limit): the job runs here, on
  // the loop, rather than never; nothing else touches the model meanwhile.
  job();
}

bool TreeWatch::start_locked() { return start_once(worker_, [this] { work(); }, "the trigger watch"); }

void TreeWatch::to_loop(std::function<void()> fn) {
  asio::post(io_, [alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

void TreeWatch::work() {
  std::unique_lock lk(mu_);
  auto next_poll = std::chrono::steady_clock::now() + cfg_.poll_every;
  for (;;) {
    if (quit_) return;
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      job();
      lk.lock();
      continue;
    }
    if (!model_->any_polled()) {
      cv_.wait(lk);
      next_poll = std::chrono::steady_clock::now() + cfg_.poll_every;
      continue;
    }
    if (cv_.wait_until(lk, next_poll) != std::cv_status::timeout) continue;
    lk.unlock();
    TreeReport r;
    model_->poll(r);
    deliver(std::move(r));
    publish_counts();
    lk.lock();
    next_poll = std::chrono::steady_clock::now() + cfg_.poll_every;
  }
}

void TreeWatch::publish_counts() {
  dirs_ = model_->dirs();
  watches_ = model_->watched();
  polled_ = model_->polled();
}

void TreeWatch::deliver(TreeReport report) {
  if (report.empty()) return;
  to_loop([this, report = std::move(report)] {
    for (const auto& key : report.unknown) on_change_(key, {}, true);
    for (const auto& [key, paths] : report.paths) {
      if (!report.unknown.count(key)) on_change_(key, std::vector<std::string>(paths.begin(), paths.end()), false);
    }
  });
}

// ---- the loop side ----

void TreeWatch::set_roots(const std::string& key, std::vector<std::string> roots, std::function<void()> ready) {
  if (stopped_) return;
  post_work([this, key, roots = std::move(roots), ready = std::move(ready)] {
    model_->set_roots(key, roots);
    publish_counts();
    if (ready) to_loop(ready);
  });
}

void TreeWatch::drop(const std::string& key) {
  if (stopped_) return;
  post_work([this, key] {
    model_->drop(key);
    publish_counts();
  });
}

void TreeWatch::signature(const std::string& key, std::function<void(std::string)> done) {
  if (stopped_) return;
  post_work([this, key, done = std::move(done)] {
    std::string sig = tree_signature(model_->roots(key));
    to_loop([done, sig = std::move(sig)] { done(sig); });
  });
}

void TreeWatch::on_backend_events(const std::vector<Backend::Event>& events) {
  if (stopped_) return;
  // Copied (names point into the backend's buffer), in the OS's order; a
  // cookie splits the batch so that what came before it is reported first.
  auto owned = std::make_shared<std::vector<OwnedEvent>>();
  owned->reserve(events.size());
  bool overflow = false;
  for (const auto& e : events) {
    owned->push_back(OwnedEvent{e.handle, e.what, std::string(e.name), e.dir});
    overflow |= (e.what & Backend::kOverflow) != 0;
  }
  // A cookie asked for while the kernel's queue was full was dropped with
  // the other events: ask again, behind everything queued now.
  if (overflow && cookie_in_flight_) request_cookie();
  post_work([this, owned] {
    std::vector<OwnedEvent> batch;
    TreeReport r;
    for (auto& e : *owned) {
      if ((e.what & Backend::kCookie) == 0) {
        batch.push_back(std::move(e));
        continue;
      }
      model_->on_events(batch, r);
      batch.clear();
      deliver(std::move(r));
      r = TreeReport{};
      to_loop([this] {
        std::vector<std::function<void()>> done = std::move(cookie_waiters_);
        cookie_waiters_.clear();
        cookie_in_flight_ = false;
        if (!next_waiters_.empty()) {
          cookie_waiters_ = std::move(next_waiters_);
          next_waiters_.clear();
          request_cookie();
        }
        for (auto& w : done) w();
      });
    }
    model_->on_events(batch, r);
    deliver(std::move(r));
    publish_counts();
  });
}

void TreeWatch::sync(std::function<void()> done) {
  if (stopped_) {
    asio::post(io_, std::move(done));
    return;
  }
  if (!backend_) {
    // Nothing to wait for but the worker's queue.
    post_work([this, done = std::move(done)] { to_loop(done); });
    return;
  }
  if (cookie_in_flight_) {
    next_waiters_.push_back(std::move(done));
    return;
  }
  cookie_waiters_.push_back(std::move(done));
  request_cookie();
}

void TreeWatch::request_cookie() {
  cookie_in_flight_ = true;
  if (auto st = backend_->request_cookie(); st) return;
  // No cookie, no "now": answer once the worker's queue is through.
  cookie_in_flight_ = false;
  auto waiters = std::make_shared<std::vector<std::function<void()>>>(std::move(cookie_waiters_));
  cookie_waiters_.clear();
  post_work([this, waiters] {
    to_loop([waiters] {
      for (auto& w : *waiters) w();
    });
  });
}

boost::json::object TreeWatch::info() const {
  return boost::json::object{{"dirs", dirs_.load()}, {"watches", watches_.load()}, {"polled", polled_.load()}};
}

}  // namespace hs::daemon::watch
