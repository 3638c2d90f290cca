// The polling watch::Backend with real files: the events inotify would give
// (an entry changed, then complete; removed; the directory itself
// gone), cookies answered only after a scan that started after them and
// reported every earlier change. Timeouts are generous; no latency is
// asserted (PROTOCOL.md's 2 s is the default period; here it is shorter).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "daemon/watch/poll_backend.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::daemon::watch::Backend;
using hs::daemon::watch::PollBackend;
using hs::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct Seen {
  int handle;
  unsigned what;
  std::string name;
};

struct Fixture {
  boost::asio::io_context io;
  std::vector<Seen> seen;
  PollBackend poll{io, [this](const std::vector<Backend::Event>& evs) {
                     for (const auto& e : evs) seen.push_back(Seen{e.handle, e.what, std::string(e.name)});
                   },
                   100ms};

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      io.restart();
      io.run_for(10ms);
    }
    return true;
  }
  size_t count(const std::string& name, unsigned what) const {
    size_t n = 0;
    for (const auto& s : seen) n += (s.name == name && (s.what & what) == what) ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("poll backend: a file written is reported, then complete once quiet; a removal", "[poll_backend]") {
  TempDir dir;
  Fixture fx;
  auto h = fx.poll.add_dir(dir.path(), false);
  REQUIRE(h);
  hs::test::spit(dir / "a", "one");
  // Seen (as IN_MODIFY), then complete once quiet (as IN_CLOSE_WRITE).
  REQUIRE(fx.run_until([&] { return fx.count("a", Backend::kEntry | Backend::kClosedWrite) == 1; }));
  CHECK(fx.count("a", Backend::kEntry) <= 2);
  CHECK(fx.seen.front().handle == *h);
  CHECK((fx.seen.back().what & Backend::kClosedWrite) != 0);
  // Quiet since: nothing more about it.
  const size_t before = fx.count("a", Backend::kEntry);
  fx.run_until([] { return false; }, 600ms);
  CHECK(fx.count("a", Backend::kEntry) == before);

  ::unlink((dir / "a").c_str());
  REQUIRE(fx.run_until([&] { return fx.count("a", Backend::kEntry) == before + 1; }));
  // A subdirectory changing inside is not a change of the entry.
  REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
  REQUIRE(fx.run_until([&] { return fx.count("sub", Backend::kEntry | Backend::kClosedWrite) == 1; }));
  const size_t sub = fx.count("sub", Backend::kEntry);
  hs::test::spit(dir / "sub/inner", "x");
  fx.run_until([] { return false; }, 600ms);
  CHECK(fx.count("sub", Backend::kEntry) == sub);
}

TEST_CASE("poll backend: a cookie comes after every change made before it", "[poll_backend]") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.poll.add_dir(dir.path(), false));
  for (int round = 0; round < 5; ++round) {
    const std::string name = "f" + std::to_string(round);
    hs::test::spit(dir / name, "x");
    fx.seen.clear();
    REQUIRE(fx.poll.request_cookie());
    REQUIRE(fx.run_until([&] { return fx.count("", Backend::kCookie) == 1; }));
    // The change was reported, and before the cookie.
    REQUIRE(fx.seen.size() >= 2);
    CHECK(fx.seen.front().name == name);
    CHECK((fx.seen.back().what & Backend::kCookie) != 0);
  }
}

TEST_CASE("poll backend: a directory deleted or replaced ends its handle", "[poll_backend]") {
  TempDir dir;
  Fixture fx;
  const std::string d = dir / "d";
  REQUIRE(::mkdir(d.c_str(), 0700) == 0);
  auto h = fx.poll.add_dir(d, false);
  REQUIRE(h);
  REQUIRE(::rename(d.c_str(), (dir / "d.old").c_str()) == 0);
  REQUIRE(::mkdir(d.c_str(), 0700) == 0);
  REQUIRE(fx.run_until([&] { return !fx.seen.empty(); }));
  CHECK(fx.seen.front().handle == *h);
  CHECK((fx.seen.front().what & (Backend::kSelf | Backend::kGone)) == (Backend::kSelf | Backend::kGone));
  fx.seen.clear();
  hs::test::spit(dir / "d.old/late", "x");  // the handle is gone: nothing more
  fx.run_until([] { return false; }, 600ms);
  CHECK(fx.seen.empty());

  auto missing = fx.poll.add_dir(dir / "nope", false);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().sys_errno == ENOENT);
  REQUIRE(::symlink(d.c_str(), (dir / "link").c_str()) == 0);
  CHECK_FALSE(fx.poll.add_dir(dir / "link", false));  // a link is followed only when asked
  CHECK(fx.poll.add_dir(dir / "link", true));
}

// A file written just before its directory is listed is racy: a change in
// the same tick of the file system's clock, keeping its size, would not
// show in a stat. It used to be reported at the next scan, changed or not:
// a trigger ran a second time, after its start-up run, for an edit made
// while the daemon was down. Its content decides now.
TEST_CASE("poll backend: a racy file left alone is not reported; changed, it is", "[poll_backend]") {
  TempDir dir;
  Fixture fx;
  hs::test::spit(dir / "left", "1");
  hs::test::spit(dir / "changed", "1");
  auto h = fx.poll.add_dir(dir.path(), false);
  REQUIRE(h);
  // The same size, as soon as can be: in the same clock tick where the
  // file system's clock is coarse.
  hs::test::spit(dir / "changed", "2");
  for (int i = 0; i < 3; ++i) {  // past the racy window
    REQUIRE(fx.poll.request_cookie());
    REQUIRE(fx.run_until([&] { return fx.count("", Backend::kCookie) == static_cast<size_t>(i + 1); }));
  }
  fx.run_until([] { return false; }, 400ms);
  CHECK(fx.count("left", Backend::kEntry) == 0);
  CHECK(fx.count("changed", Backend::kEntry | Backend::kClosedWrite) == 1);
  // Past its window a change shows in the stat.
  hs::test::spit(dir / "left", "2");
  REQUIRE(fx.run_until([&] { return fx.count("left", Backend::kEntry | Backend::kClosedWrite) == 1; }));
}

// A write seen by a scan before it is quiet is reported twice: when seen,
// and complete once quiet. The second says nothing changed since (kSettled):
// TreeWatch used to take it for another change, and a trigger with a short
// settle ran twice for one write.
TEST_CASE("poll backend: complete after a report, with nothing new, is kSettled", "[poll_backend]") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.poll.add_dir(dir.path(), false));
  hs::test::spit(dir / "a", "one");
  REQUIRE(fx.poll.request_cookie());  // a scan now: the write is not quiet yet
  REQUIRE(fx.run_until([&] { return fx.count("a", Backend::kEntry | Backend::kClosedWrite) == 1; }));
  const auto first = std::find_if(fx.seen.begin(), fx.seen.end(), [](const Seen& s) { return s.name == "a"; });
  REQUIRE(first != fx.seen.end());
  if ((first->what & Backend::kClosedWrite) == 0) {  // seen before it was quiet (a loaded machine may be late)
    CHECK(fx.count("a", Backend::kEntry | Backend::kClosedWrite | Backend::kSettled) == 1);
    CHECK(fx.count("a", Backend::kEntry) == 2);
  }
  // Written again while it waits to be quiet: a change, not kSettled.
  fx.seen.clear();
  hs::test::spit(dir / "a", "two");
  REQUIRE(fx.poll.request_cookie());
  REQUIRE(fx.run_until([&] { return fx.count("", Backend::kCookie) == 1; }));
  hs::test::spit(dir / "a", "three");
  REQUIRE(fx.run_until([&] { return fx.count("a", Backend::kEntry | Backend::kClosedWrite) >= 1; }));
  fx.run_until([] { return false; }, 600ms);
  size_t changes = 0;
  for (const auto& s : fx.seen) changes += (s.name == "a" && (s.what & Backend::kSettled) == 0) ? 1 : 0;
  CHECK(changes >= 2);
}
