#include "harnesssync/lock_guard.hpp"

#include "common/result.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {

Result<LockGuard> LockGuard::acquire(Client& client, std::string name, int64_t wait_ms, bool coalesce) {
  HS_TRY_ASSIGN(const LockResult r, client.lock_acquire(name, wait_ms, coalesce));
  return LockGuard(client, std::move(name), r);
}

LockGuard::LockGuard(LockGuard&& o) noexcept
    : client_(o.client_), name_(std::move(o.name_)), result_(o.result_), held_(std::exchange(o.held_, false)) {}

LockGuard& LockGuard::operator=(LockGuard&& o) noexcept {
  if (this != &o) {
    (void)release();
    client_ = o.client_;
    name_ = std::move(o.name_);
    result_ = o.result_;
    held_ = std::exchange(o.held_, false);
  }
  return *this;
}

LockGuard::~LockGuard() { (void)release(); }

Result<Done> LockGuard::release() {
  if (!held_) return Done{};
  held_ = false;
  return client_->lock_release(name_);
}

}  // namespace harnesssync
