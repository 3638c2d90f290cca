// The C++ client's lock calls and LockGuard against the real daemon.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/platform.hpp"
#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"

using harnesssync::Client;
using harnesssync::LockGuard;

using hs::test::LiveDaemon;

namespace {
// This process as the daemon names a holder: the kernel's pid
// (SO_PEERCRED), or unknown where the build asks getpeereid, which has none.
std::optional<int64_t> me() {
  if (HS_HAVE_SO_PEERCRED) return ::getpid();
  return std::nullopt;
}
}  // namespace

TEST_CASE("lock client: acquire, busy, list, release and error 2", "[lock_client]") {
  LiveDaemon d;
  Client a = d.connect();
  Client b = d.connect();
  auto got = a.lock_acquire("sync");
  REQUIRE(got);
  CHECK(got->acquired);
  CHECK_FALSE(got->coalesced);
  CHECK(got->holder_pid == me());
  auto busy = b.lock_acquire("sync", 50);
  REQUIRE(busy);
  CHECK_FALSE(busy->acquired);
  CHECK(busy->holder_pid == me());
  auto list = b.lock_list();
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->front().name == "sync");
  CHECK(list->front().holder_pid == me());
  CHECK(list->front().waiting == 0);
  auto not_held = b.lock_release("sync");
  REQUIRE_FALSE(not_held);
  CHECK(not_held.error().kind == harnesssync::Error::Kind::rpc);
  CHECK(not_held.error().code == 2);
  CHECK(a.lock_release("sync"));
  auto bad = a.lock_acquire("no spaces");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == -32602);
}

TEST_CASE("lock client: a wait longer than the call timeout is still answered", "[lock_client]") {
  LiveDaemon d;
  d.opts.timeout = std::chrono::milliseconds(200);
  Client a = d.connect();
  Client b = d.connect();
  REQUIRE(a.lock_acquire("sync")->acquired);
  auto t0 = std::chrono::steady_clock::now();
  auto busy = b.lock_acquire("sync", 600);
  REQUIRE(busy);  // not a timeout: the deadline allows for the wait
  CHECK_FALSE(busy->acquired);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(590));
}

TEST_CASE("lock client: LockGuard releases at the end of its scope", "[lock_client]") {
  LiveDaemon d;
  Client a = d.connect();
  Client b = d.connect();
  {
    auto g = LockGuard::acquire(a, "sync");
    REQUIRE(g);
    CHECK(g->acquired());
    CHECK(static_cast<bool>(*g));
    auto busy = LockGuard::acquire(b, "sync");
    REQUIRE(busy);
    CHECK_FALSE(busy->acquired());
    CHECK(busy->result().holder_pid == me());
    // Moved: the lock follows, and is released once.
    LockGuard moved = std::move(*g);
    CHECK(moved.acquired());
    CHECK_FALSE(g->acquired());
  }
  auto list = b.lock_list();
  REQUIRE(list);
  CHECK(list->empty());
  {
    auto g = LockGuard::acquire(b, "sync", 1000);
    REQUIRE(g);
    REQUIRE(g->acquired());
    CHECK(g->release());
    CHECK(g->release());  // idempotent
    CHECK_FALSE(g->acquired());
  }
  CHECK(b.lock_list()->empty());
}

TEST_CASE("lock client: a lock held by a destroyed Client is free again", "[lock_client]") {
  LiveDaemon d;
  Client b = d.connect();
  {
    Client a = d.connect();
    REQUIRE(a.lock_acquire("sync")->acquired);
  }
  auto got = b.lock_acquire("sync", 10000);
  REQUIRE(got);
  CHECK(got->acquired);
}
