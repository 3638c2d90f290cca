// The lock table's rules (docs/PROTOCOL.md, lock.*) without sockets:
// connections are ids, answers are recorded, timers run on a real
// io_context.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "daemon/locks/lock_table.hpp"
#include "tests/catch.hpp"

using hs::daemon::locks::LockTable;
using Answer = LockTable::Answer;
using Refusal = LockTable::Refusal;

namespace {

struct Rig {
  boost::asio::io_context io;
  LockTable t{io};
  // Each call's answers, in order; "none" for -32000 (shutdown).
  std::map<int, std::vector<std::optional<Answer>>> answers;
  int calls = 0;

  // Acquires `name` for connection `conn` (pid 1000+conn); returns the call's number.
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
  const std::optional<Answer>& answer(int n) const {
    REQUIRE(answers.at(n).size() == 1);
    return answers.at(n).front();
  }
  bool acquired(int n) const { return answered(n) && answer(n) && answer(n)->acquired; }
  void run_for(std::chrono::milliseconds ms) {
    io.restart();
    io.run_for(ms);
  }
};

}  // namespace

TEST_CASE("locks: a free lock is granted at once, with the caller as holder", "[locks]") {
  Rig r;
  int a = r.acquire(1, "sync");
  REQUIRE(r.acquired(a));
  CHECK_FALSE(r.answer(a)->coalesced);
  CHECK(r.answer(a)->holder_pid == 1001);
  CHECK(r.t.held() == 1);
  CHECK(r.t.release(1, "sync"));
  CHECK(r.t.held() == 0);
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: try-once on a busy lock says who holds it", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int b = r.acquire(2, "sync");
  REQUIRE(r.answered(b));
  CHECK_FALSE(r.answer(b)->acquired);
  CHECK_FALSE(r.answer(b)->coalesced);
  CHECK(r.answer(b)->holder_pid == 1001);
  CHECK(r.t.waiting() == 0);
  // Other names are independent.
  CHECK(r.acquired(r.acquire(2, "deploy")));
}

TEST_CASE("locks: waiters are granted in the order they asked", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  std::vector<int> calls;
  for (uint64_t c = 2; c <= 11; ++c) calls.push_back(r.acquire(c, "sync", 60000));
  CHECK(r.t.waiting() == 10);
  for (size_t i = 0; i < calls.size(); ++i) {
    const uint64_t holder = i + 1;
    for (size_t j = i; j < calls.size(); ++j) CHECK_FALSE(r.answered(calls[j]));
    REQUIRE(r.t.release(holder, "sync"));
    REQUIRE(r.acquired(calls[i]));
    CHECK(r.answer(calls[i])->holder_pid == static_cast<int64_t>(1000 + holder + 1));
  }
  CHECK(r.t.release(11, "sync"));
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: a wait times out with acquired false, and leaves the queue", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int slow = r.acquire(2, "sync", 60000);
  int quick = r.acquire(3, "sync", 20);
  r.run_for(std::chrono::milliseconds(300));
  REQUIRE(r.answered(quick));
  CHECK_FALSE(r.answer(quick)->acquired);
  CHECK(r.answer(quick)->holder_pid == 1001);
  CHECK_FALSE(r.answered(slow));
  CHECK(r.t.waiting() == 1);
  r.t.release(1, "sync");
  CHECK(r.acquired(slow));
}

TEST_CASE("locks: releasing what another connection holds, or nothing, is refused", "[locks]") {
  Rig r;
  CHECK_FALSE(r.t.release(1, "sync"));
  r.acquire(1, "sync");
  CHECK_FALSE(r.t.release(2, "sync"));
  CHECK(r.t.held() == 1);
}

TEST_CASE("locks: a connection asking again for what it holds or waits for is refused", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int again = r.acquire(1, "sync", 1000, false, Refusal::already_held);
  CHECK_FALSE(r.answered(again));
  r.acquire(2, "sync", 60000);
  int twice = r.acquire(2, "sync", 60000, false, Refusal::already_waiting);
  CHECK_FALSE(r.answered(twice));
  CHECK(r.t.waiting() == 1);
}

TEST_CASE("locks: a closed connection releases its locks to the next waiter and leaves its queues", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  r.acquire(1, "deploy");
  int gone = r.acquire(2, "sync", 60000);
  int next = r.acquire(3, "sync", 60000);
  int other = r.acquire(2, "deploy", 60000);
  r.t.connection_closed(2);  // a waiter disconnects: dropped, never answered
  CHECK_FALSE(r.answered(gone));
  CHECK_FALSE(r.answered(other));
  CHECK(r.t.waiting() == 1);
  r.t.connection_closed(1);  // the holder dies
  CHECK(r.acquired(next));
  CHECK(r.t.held() == 1);
  CHECK(r.t.locks().count("deploy") == 0);
  r.run_for(std::chrono::milliseconds(10));  // the cancelled timers complete harmlessly
}

TEST_CASE("locks: coalesce makes one follow-up waiter; later coalescers are covered by it", "[locks]") {
  Rig r;
  // Free: a coalescing caller simply takes it.
  int first = r.acquire(1, "sync", 0, true);
  REQUIRE(r.acquired(first));
  int follow = r.acquire(2, "sync", 60000, true);
  CHECK_FALSE(r.answered(follow));
  std::vector<int> storm;
  for (uint64_t c = 3; c < 53; ++c) storm.push_back(r.acquire(c, "sync", 60000, true));
  for (int n : storm) {
    REQUIRE(r.answered(n));
    CHECK_FALSE(r.answer(n)->acquired);
    CHECK(r.answer(n)->coalesced);
    CHECK(r.answer(n)->holder_pid == 1001);
  }
  CHECK(r.t.waiting() == 1);
  // A non-coalescing caller still queues behind the follow-up.
  int plain = r.acquire(60, "sync", 60000);
  r.t.release(1, "sync");
  REQUIRE(r.acquired(follow));
  CHECK_FALSE(r.answered(plain));
  // The follow-up now holds it: the next coalescer becomes the new follow-up.
  int next = r.acquire(61, "sync", 60000, true);
  CHECK_FALSE(r.answered(next));
  CHECK(r.t.waiting() == 2);
}

TEST_CASE("locks: a coalescer that may not wait is not the follow-up", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int once = r.acquire(2, "sync", 0, true);
  REQUIRE(r.answered(once));
  CHECK_FALSE(r.answer(once)->acquired);
  CHECK_FALSE(r.answer(once)->coalesced);
  int follow = r.acquire(3, "sync", 60000, true);
  CHECK_FALSE(r.answered(follow));
  // The follow-up leaves (its client disconnects): the next coalescer waits in its place.
  r.t.connection_closed(3);
  int next = r.acquire(4, "sync", 60000, true);
  CHECK_FALSE(r.answered(next));
}

TEST_CASE("locks: shutdown answers every waiter, keeps holders, and waits no more", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int w1 = r.acquire(2, "sync", 60000);
  int w2 = r.acquire(3, "sync", 60000, true);
  r.t.shutdown();
  REQUIRE(r.answered(w1));
  CHECK_FALSE(r.answer(w1).has_value());
  REQUIRE(r.answered(w2));
  CHECK_FALSE(r.answer(w2).has_value());
  CHECK(r.t.held() == 1);
  CHECK(r.t.waiting() == 0);
  int late = r.acquire(4, "sync", 60000);
  REQUIRE(r.answered(late));
  CHECK_FALSE(r.answer(late)->acquired);
  r.t.connection_closed(1);
  CHECK(r.t.locks().empty());
}

TEST_CASE("locks: an answer that reenters the table finds it consistent", "[locks]") {
  // Writing a grant can close the grantee's connection (its output cap),
  // which releases the lock it was just granted, inside the grant.
  boost::asio::io_context io;
  LockTable t{io};
  std::vector<int> got;
  auto acquire = [&](uint64_t conn, int64_t wait, bool close_on_grant) {
    (void)t.acquire(conn, static_cast<int64_t>(conn), "sync", wait, false,
                    [&, conn, close_on_grant](std::optional<Answer> a) {
                      if (!a || !a->acquired) return;
                      got.push_back(static_cast<int>(conn));
                      if (close_on_grant) t.connection_closed(conn);
                    });
  };
  acquire(1, 0, false);
  acquire(2, 60000, true);
  acquire(3, 60000, true);
  acquire(4, 60000, false);
  t.connection_closed(1);
  CHECK(got == std::vector<int>{1, 2, 3, 4});
  CHECK(t.held() == 1);
  CHECK(t.waiting() == 0);
}

TEST_CASE("locks: an unbounded wait sets no timer and does not overflow the clock", "[locks]") {
  Rig r;
  r.acquire(1, "sync");
  int w = r.acquire(2, "sync", LockTable::kUnboundedWaitMs);
  int max = r.acquire(3, "sync", (int64_t{1} << 53) - 1);
  r.run_for(std::chrono::milliseconds(20));
  CHECK_FALSE(r.answered(w));
  CHECK_FALSE(r.answered(max));
  r.t.release(1, "sync");
  CHECK(r.acquired(w));
}
