// Cancellation of long work (hashing, serializing a large document): a
// connection's work is cancelled when the connection closes, and every
// connection's when the daemon stops. Long work checks the token between
// pieces and gives up; it never needs the connection itself.
#pragma once

#include <atomic>
#include <memory>

namespace hs {

class CancelToken {
 public:
  /// A token that is never cancelled.
  CancelToken() = default;
  /// Safe from any thread.
  bool cancelled() const { return flag_ && flag_->load(std::memory_order_relaxed); }
  /// The same for every token of one source (one connection): what work is
  /// shared fairly between. Null for the never-cancelled token.
  const void* owner() const { return flag_.get(); }

 private:
  friend class CancelSource;
  explicit CancelToken(std::shared_ptr<const std::atomic<bool>> f) : flag_(std::move(f)) {}
  std::shared_ptr<const std::atomic<bool>> flag_;
};

class CancelSource {
 public:
  CancelSource() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  CancelToken token() const { return CancelToken(flag_); }
  void cancel() { flag_->store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_->load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace hs
