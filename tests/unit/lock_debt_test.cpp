// The lock table's bounds and debts (issue 17): the per-connection cap,
// closes that cost what the connection held, counts kept as they change,
// `owed` when a covering follow-up leaves without running, and the
// daemon's own (internal) callers.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/locks/lock_table.hpp"
#include "tests/catch.hpp"

using hs::daemon::locks::LockTable;
using Answer = LockTable::Answer;
using Refusal = LockTable::Refusal;

namespace {

struct Rig {
  explicit Rig(size_t cap = LockTable::kDefaultMaxPerConn) : t(io, cap) {
    t.add_on_owed([this](const std::string& name) { owed.push_back(name); });
  }
  boost::asio::io_context io;
  LockTable t;
  std::map<int, std::vector<std::optional<Answer>>> answers;
  std::vector<std::string> owed;  // what on_owed reported, in order
  int calls = 0;

  int acquire(uint64_t conn, const std::string& name, int64_t wait_ms = 0, bool coalesce = false,
              Refusal want = Refusal::none) {
    int n = ++calls;
    answers[n];
    Refusal r = t.acquire(conn, static_cast<int64_t>(1000 + conn), name, wait_ms, coalesce,
                          [this, n](std::optional<Answer> a) { answers[n].push_back(a); });
    CHECK(r == want);
    return n;
  }
  bool answered(int n) const { return !answers.at(n).empty(); }
  const Answer& answer(int n) const {
    REQUIRE(answers.at(n).size() == 1);
    REQUIRE(answers.at(n).front().has_value());
    return *answers.at(n).front();
  }
  void run_for(std::chrono::milliseconds ms) {
    io.restart();
    io.run_for(ms);
  }
  // The holder, a covering follow-up and a covered caller: the shape that
  // makes a debt when the follow-up leaves.
  int covered_setup() {
    acquire(1, "sync");
    int follow = acquire(2, "sync", 60000, true);
    int covered = acquire(3, "sync", 60000, true);
    REQUIRE(answer(covered).coalesced);
    return follow;
  }
};

size_t conn_names(const LockTable& t) {
  size_t n = 0;
  for (const auto& [name, l] : t.locks()) n += (l.holder ? 1 : 0) + l.waiters.size();
  return n;
}

}  // namespace

TEST_CASE("locks: a connection past its cap of names is refused, holding or waiting", "[locks]") {
  Rig r(3);
  for (int i = 0; i < 3; ++i) CHECK(r.answer(r.acquire(1, "n" + std::to_string(i))).acquired);
  r.acquire(1, "n3", 0, false, Refusal::too_many);
  r.acquire(2, "n0", 0);  // busy, try once: takes no name, so never refused
  // Waiting counts too.
  Rig w(2);
  w.acquire(9, "a");
  w.acquire(9, "b");
  w.acquire(1, "a", 60000);
  w.acquire(1, "b", 60000);
  w.acquire(1, "c", 0, false, Refusal::too_many);
  CHECK(w.t.waiting() == 2);
  // A name released makes room again.
  CHECK(r.t.release(1, "n0"));
  CHECK(r.answer(r.acquire(1, "n3")).acquired);
  // The cap is per connection: another one is not affected.
  CHECK(r.answer(r.acquire(5, "other")).acquired);
}

TEST_CASE("locks: the counts follow every change without a walk", "[locks]") {
  Rig r;
  r.acquire(1, "a");
  r.acquire(1, "b");
  r.acquire(2, "a", 60000);
  int t = r.acquire(3, "a", 20);
  r.acquire(2, "b", 60000);
  CHECK(r.t.held() == 2);
  CHECK(r.t.waiting() == 3);
  r.run_for(std::chrono::milliseconds(200));
  REQUIRE(r.answered(t));
  CHECK(r.t.waiting() == 2);
  r.t.connection_closed(1);  // 2 takes both
  CHECK(r.t.held() == 2);
  CHECK(r.t.waiting() == 0);
  CHECK(conn_names(r.t) == 2);
  r.t.connection_closed(2);
  CHECK(r.t.held() == 0);
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: closing one connection of many leaves the others' names alone", "[locks]") {
  Rig r;
  for (uint64_t c = 1; c <= 200; ++c) {
    for (int i = 0; i < 20; ++i) r.acquire(c, "c" + std::to_string(c) + "-" + std::to_string(i));
  }
  CHECK(r.t.held() == 4000);
  r.t.connection_closed(77);
  CHECK(r.t.held() == 3980);
  CHECK(r.t.locks().count("c77-0") == 0);
  CHECK(r.t.locks().count("c78-0") == 1);
  r.t.connection_closed(77);  // twice: nothing left to do
  CHECK(r.t.held() == 3980);
}

TEST_CASE("locks: a covering follow-up that times out leaves the lock owed", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int follow = r.acquire(2, "sync", 30, true);
  int covered = r.acquire(3, "sync", 60000, true);
  REQUIRE(r.answer(covered).coalesced);
  r.run_for(std::chrono::milliseconds(300));
  REQUIRE(r.answered(follow));
  CHECK_FALSE(r.answer(follow).acquired);
  CHECK(r.t.locks().at("sync").owed);
  CHECK(r.owed == std::vector<std::string>{"sync"});
  // The next caller granted it is told, and the debt is cleared.
  int next = r.acquire(4, "sync", 60000);
  r.t.release(1, "sync");
  CHECK(r.answer(next).acquired);
  CHECK(r.answer(next).owed);
  CHECK_FALSE(r.t.locks().at("sync").owed);
  r.t.release(4, "sync");
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: a covering follow-up that closes or cancels leaves a debt; one that runs does not", "[locks]") {
  SECTION("closed") {
    Rig r;
    r.covered_setup();
    r.t.connection_closed(2);
    CHECK(r.t.locks().at("sync").owed);
    CHECK(r.owed.size() == 1);
  }
  SECTION("cancelled") {
    Rig r;
    r.covered_setup();
    CHECK(r.t.cancel_wait(2, "sync"));
    CHECK_FALSE(r.t.cancel_wait(2, "sync"));
    CHECK(r.t.locks().at("sync").owed);
    CHECK(r.t.waiting() == 0);
  }
  SECTION("granted") {
    Rig r;
    int follow = r.covered_setup();
    r.t.release(1, "sync");
    CHECK(r.answer(follow).acquired);
    CHECK_FALSE(r.answer(follow).owed);
    r.t.connection_closed(2);
    CHECK(r.owed.empty());
    CHECK(r.t.locks().empty());
  }
  SECTION("a follow-up that covered nobody") {
    Rig r;
    r.acquire(1, "sync");
    r.acquire(2, "sync", 60000, true);
    r.t.connection_closed(2);
    CHECK(r.owed.empty());
    CHECK_FALSE(r.t.locks().at("sync").owed);
  }
}

TEST_CASE("locks: a debt outlives its holder, and the next taker of the free lock pays it", "[locks]") {
  Rig r;
  r.covered_setup();
  r.t.connection_closed(2);
  r.t.connection_closed(1);  // free now, but owed: the entry stays to say so
  REQUIRE(r.t.locks().count("sync") == 1);
  CHECK_FALSE(r.t.locks().at("sync").holder);
  CHECK(r.t.held() == 0);
  int next = r.acquire(5, "sync");
  CHECK(r.answer(next).acquired);
  CHECK(r.answer(next).owed);
  r.t.release(5, "sync");
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: debts on free locks are bounded", "[locks]") {
  Rig r;
  const size_t n = LockTable::kMaxIdleDebts + 10;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = "d" + std::to_string(i);
    r.acquire(1, name);
    r.acquire(2, name, 60000, true);
    r.acquire(3, name, 60000, true);
    r.t.connection_closed(2);
    r.t.release(1, name);
  }
  CHECK(r.t.locks().size() == LockTable::kMaxIdleDebts);
  CHECK(r.t.locks().count("d0") == 0);  // the oldest went first
  CHECK(r.t.locks().count("d" + std::to_string(n - 1)) == 1);
}

TEST_CASE("locks: internal callers queue like connections, and show their command's pid", "[locks]") {
  Rig r;
  const auto trig = r.t.internal_conn();
  CHECK(trig >= LockTable::kInternalBase);
  CHECK(r.t.internal_conn() != trig);
  r.acquire(1, "sync");
  std::optional<Answer> got;
  REQUIRE(r.t.acquire(trig, 42, "sync", LockTable::kUnboundedWaitMs, true,
                      [&](std::optional<Answer> a) { got = a; }) == Refusal::none);
  CHECK_FALSE(got);
  r.t.release(1, "sync");
  REQUIRE(got);
  CHECK(got->acquired);
  r.t.set_holder_pid(trig, "sync", 4242);
  CHECK(r.t.locks().at("sync").holder_pid == 4242);
  r.t.set_holder_pid(7, "sync", 1);  // not the holder: ignored
  CHECK(r.t.locks().at("sync").holder_pid == 4242);
  r.t.connection_closed(trig);
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: a listener told of a debt may take the lock at once", "[locks]") {
  boost::asio::io_context io;
  LockTable t{io};
  std::optional<Answer> paid;
  const auto trig = t.internal_conn();
  t.add_on_owed([&](const std::string& name) {
    (void)t.acquire(trig, 1, name, LockTable::kUnboundedWaitMs, true, [&](std::optional<Answer> a) { paid = a; });
  });
  auto ignore = [](std::optional<Answer>) {};
  (void)t.acquire(1, 1, "sync", 0, false, ignore);
  (void)t.acquire(2, 2, "sync", 60000, true, ignore);
  (void)t.acquire(3, 3, "sync", 60000, true, ignore);
  t.connection_closed(2);  // debt: the listener queues behind holder 1
  CHECK_FALSE(paid);
  CHECK(t.waiting() == 1);
  t.release(1, "sync");
  REQUIRE(paid);
  CHECK(paid->acquired);
  CHECK(paid->owed);
}
