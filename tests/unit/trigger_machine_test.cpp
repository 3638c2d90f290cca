// The trigger run machine's rules (docs/PROTOCOL.md, "Triggers") on a fake
// clock: settle and max-wait, one at a time with one follow-up, the lock's
// answers, loop back-off, pause and resume.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "daemon/triggers/machine.hpp"
#include "tests/catch.hpp"

using hs::daemon::triggers::Effects;
using hs::daemon::triggers::Machine;
using hs::daemon::triggers::State;
using ms = std::chrono::milliseconds;

namespace {

// A world the test drives by hand: time moves when the test says, the lock
// answers when the test says, and runs end when the test says.
struct World : Effects {
  Clock::time_point t{std::chrono::hours(1)};
  std::optional<Clock::time_point> timer;
  int lock_asks = 0, lock_cancels = 0, lock_releases = 0;
  bool grant_at_once = true;
  Machine* m = nullptr;
  std::vector<std::optional<std::vector<std::string>>> runs;  // each run's stdin
  std::vector<Clock::time_point> run_starts;
  std::vector<std::optional<size_t>> coalesced;
  std::vector<ms> backoffs;

  Clock::time_point now() override { return t; }
  void arm_timer(Clock::time_point at) override { timer = at; }
  void cancel_timer() override { timer.reset(); }
  void acquire_lock() override {
    ++lock_asks;
    if (grant_at_once) m->lock_granted();
  }
  void cancel_lock() override { ++lock_cancels; }
  void release_lock() override { ++lock_releases; }
  void start_run(std::optional<std::vector<std::string>> changed) override {
    runs.push_back(std::move(changed));
    run_starts.push_back(t);
  }
  void record_coalesced(std::optional<size_t> n) override { coalesced.push_back(n); }
  void backing_off(ms d) override { backoffs.push_back(d); }

  // Moves the clock on by `d`, firing the timer when it is due.
  void advance(ms d) {
    const auto end = t + d;
    while (timer && *timer <= end) {
      t = *timer;
      timer.reset();
      m->timer_fired();
    }
    t = end;
  }
  ms since_start(Clock::time_point x) const { return std::chrono::duration_cast<ms>(x - Clock::time_point{std::chrono::hours(1)}); }
};

struct Rig {
  explicit Rig(ms settle = ms(300), ms max_wait = ms(3000), bool lock = true) : m(w, {settle, max_wait}, lock) {
    w.m = &m;
  }
  World w;
  Machine m;
};

}  // namespace

TEST_CASE("trigger machine: a run starts settle after the last change", "[triggers]") {
  Rig r;
  r.m.changed({"/a"});
  CHECK(r.m.state() == State::settling);
  CHECK(r.m.owed());
  r.w.advance(ms(200));
  r.m.changed({"/b"});
  r.w.advance(ms(200));
  r.m.changed({"/a"});
  r.w.advance(ms(299));
  CHECK(r.w.runs.empty());
  r.w.advance(ms(1));
  REQUIRE(r.w.runs.size() == 1);
  CHECK(r.w.since_start(r.w.run_starts[0]) == ms(700));
  CHECK(*r.w.runs[0] == std::vector<std::string>{"/a", "/b"});
  CHECK(r.m.state() == State::running);
  CHECK_FALSE(r.m.owed());
}

TEST_CASE("trigger machine: a steady stream of changes runs at max-wait", "[triggers]") {
  Rig r(ms(300), ms(1000));
  for (int i = 0; i < 30; ++i) {
    r.m.changed({"/f" + std::to_string(i)});
    r.w.advance(ms(100));
  }
  REQUIRE(!r.w.runs.empty());
  CHECK(r.w.since_start(r.w.run_starts[0]) == ms(1000));
  CHECK(r.w.runs[0]->size() == 10);  // 0 ms .. 900 ms: the run starts before the change at 1000 ms
}

TEST_CASE("trigger machine: a settle of 0 runs at once", "[triggers]") {
  Rig r(ms(0), ms(0));
  r.m.changed({"/a"});
  REQUIRE(r.w.runs.size() == 1);
  CHECK(r.w.since_start(r.w.run_starts[0]) == ms(0));
}

TEST_CASE("trigger machine: changes during a run make exactly one more run, settled", "[triggers]") {
  Rig r;
  r.m.changed({"/a"});
  r.w.advance(ms(300));
  REQUIRE(r.w.runs.size() == 1);
  for (int i = 0; i < 5; ++i) {
    r.w.advance(ms(50));
    r.m.changed({"/x" + std::to_string(i)});
  }
  CHECK(r.m.state() == State::running);
  CHECK(r.m.owed());
  CHECK(r.w.runs.size() == 1);  // never two at once
  r.m.run_finished();
  CHECK(r.w.lock_releases == 1);
  // The last change was at +250 ms in the run: settled 300 ms after it.
  CHECK(r.m.state() == State::settling);
  r.w.advance(ms(1000));
  REQUIRE(r.w.runs.size() == 2);
  CHECK(r.w.runs[1]->size() == 5);
  r.m.run_finished();
  r.w.advance(ms(10000));
  CHECK(r.w.runs.size() == 2);
  CHECK(r.m.state() == State::idle);
}

TEST_CASE("trigger machine: trigger.run skips the settle, or runs once more after the run in progress", "[triggers]") {
  Rig r;
  r.m.run_now();
  REQUIRE(r.w.runs.size() == 1);
  CHECK(r.w.runs[0]->empty());
  r.m.run_now();
  r.m.run_now();
  CHECK(r.w.runs.size() == 1);
  r.m.run_finished();
  REQUIRE(r.w.runs.size() == 2);
  r.m.run_finished();
  CHECK(r.w.runs.size() == 2);
}

TEST_CASE("trigger machine: the lock is asked for after settling and held for the run", "[triggers]") {
  Rig r;
  r.w.grant_at_once = false;
  r.m.changed({"/a"});
  r.w.advance(ms(300));
  CHECK(r.m.state() == State::waiting_lock);
  CHECK(r.w.lock_asks == 1);
  // Changes while waiting go on this run's stdin: it has not started.
  r.m.changed({"/b"});
  r.m.lock_granted();
  REQUIRE(r.w.runs.size() == 1);
  CHECK(r.w.runs[0]->size() == 2);
  r.m.run_finished();
  CHECK(r.w.lock_releases == 1);
  CHECK(r.m.state() == State::idle);
}

TEST_CASE("trigger machine: without a lock nothing is asked", "[triggers]") {
  Rig r(ms(300), ms(3000), false);
  r.m.changed({"/a"});
  r.w.advance(ms(300));
  CHECK(r.w.runs.size() == 1);
  r.m.run_finished();
  CHECK(r.w.lock_asks == 0);
  CHECK(r.w.lock_releases == 0);
}

TEST_CASE("trigger machine: a coalesced attempt is recorded, does not run, and hands its paths on", "[triggers]") {
  Rig r;
  r.w.grant_at_once = false;
  r.m.changed({"/a"});
  r.w.advance(ms(300));
  r.m.lock_coalesced();
  CHECK(r.w.coalesced == std::vector<std::optional<size_t>>{1});
  CHECK(r.w.runs.empty());
  CHECK(r.m.state() == State::idle);
  CHECK_FALSE(r.m.owed());
  CHECK(r.m.covered());
  // The covering caller left without running: the service says run.
  r.m.run_now();
  r.m.lock_granted();
  REQUIRE(r.w.runs.size() == 1);
  CHECK(*r.w.runs[0] == std::vector<std::string>{"/a"});
  CHECK_FALSE(r.m.covered());
}

TEST_CASE("trigger machine: unknown changes give a run a single '*'", "[triggers]") {
  Rig r;
  r.m.changed({"/a"});
  r.m.changed_unknown();
  r.m.changed({"/b"});
  r.w.advance(ms(300));
  REQUIRE(r.w.runs.size() == 1);
  CHECK_FALSE(r.w.runs[0].has_value());
}

TEST_CASE("trigger machine: five busy runs in a row back off, doubling, until a quiet run", "[triggers]") {
  Rig r(ms(100), ms(1000));
  r.m.changed({"/a"});
  r.w.advance(ms(100));
  auto busy_run = [&] {
    r.w.advance(ms(10));
    r.m.changed({"/a"});  // the command wrote into its own watched path
    r.m.run_finished();
  };
  for (int i = 0; i < 4; ++i) {
    busy_run();
    r.w.advance(ms(100));
    CHECK(r.m.state() == State::running);
  }
  CHECK(r.w.runs.size() == 5);
  busy_run();  // the fifth
  CHECK(r.w.backoffs == std::vector<ms>{ms(1000)});
  CHECK(r.m.state() == State::backing_off);
  r.w.advance(ms(999));
  CHECK(r.w.runs.size() == 5);
  r.w.advance(ms(1));
  CHECK(r.w.runs.size() == 6);
  busy_run();
  r.w.advance(ms(1999));
  CHECK(r.w.runs.size() == 6);
  r.w.advance(ms(1));
  CHECK(r.w.runs.size() == 7);
  for (int i = 0; i < 8; ++i) {
    busy_run();
    r.w.advance(ms(60000));
  }
  CHECK(r.w.backoffs.size() == 1);  // logged once per episode
  // The delay is capped at 60 s.
  busy_run();
  r.w.advance(ms(59999));
  const auto before = r.w.runs.size();
  r.w.advance(ms(1));
  CHECK(r.w.runs.size() == before + 1);
  // A quiet run ends it.
  r.w.advance(ms(10));
  r.m.run_finished();
  r.m.changed({"/a"});
  CHECK(r.m.state() == State::settling);
  r.w.advance(ms(100));
  CHECK(r.w.runs.size() == before + 2);
}

TEST_CASE("trigger machine: paused notes changes and runs nothing; resumed runs once, settled", "[triggers]") {
  Rig r;
  r.m.pause();
  CHECK(r.m.state() == State::paused);
  r.m.changed({"/a"});
  r.m.changed({"/b"});
  r.m.run_now();
  r.w.advance(ms(10000));
  CHECK(r.w.runs.empty());
  CHECK(r.m.owed());
  r.m.resume();
  REQUIRE(r.w.runs.size() == 1);  // trigger.run asked while paused: no settle
  CHECK(r.w.runs[0]->size() == 2);
  r.m.run_finished();

  r.m.pause();
  r.m.changed({"/c"});
  r.w.advance(ms(10000));
  r.m.resume();
  CHECK(r.m.state() == State::settling);
  r.w.advance(ms(299));
  CHECK(r.w.runs.size() == 1);
  r.w.advance(ms(1));
  CHECK(r.w.runs.size() == 2);
}

TEST_CASE("trigger machine: pausing while waiting for the lock takes the wait back; a run in progress finishes",
          "[triggers]") {
  Rig r;
  r.w.grant_at_once = false;
  r.m.changed({"/a"});
  r.w.advance(ms(300));
  r.m.pause();
  CHECK(r.w.lock_cancels == 1);
  CHECK(r.m.state() == State::paused);
  r.m.lock_granted();  // a grant that crossed the cancel is given back
  CHECK(r.w.lock_releases == 1);
  CHECK(r.w.runs.empty());
  r.w.grant_at_once = true;
  r.m.resume();
  r.w.advance(ms(300));
  REQUIRE(r.w.runs.size() == 1);
  r.m.pause();
  CHECK(r.m.state() == State::running);
  r.m.changed({"/b"});
  r.m.run_finished();
  CHECK(r.m.state() == State::paused);
  CHECK(r.m.owed());
}

TEST_CASE("trigger machine: a new definition applies from the next attempt", "[triggers]") {
  Rig r;
  r.m.changed({"/a"});
  r.m.configure({ms(1000), ms(5000)}, false);
  r.w.advance(ms(999));
  CHECK(r.w.runs.empty());
  r.w.advance(ms(1));
  REQUIRE(r.w.runs.size() == 1);
  CHECK(r.w.lock_asks == 0);
}
