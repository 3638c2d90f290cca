// The state dir's watch with real files and a real inotify: another
// process's complete write of state.json (in place and closed, or renamed
// over it) is reported; a write still in progress, and other files, are
// not. Timeouts are generous (a loaded 2-core machine).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "daemon/watch/state_watch.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::daemon::watch::StateWatch;
using hs::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  boost::asio::io_context io;
  int changes = 0;
  StateWatch watch;

  explicit Fixture(const std::string& dir) : watch(io, dir, "state.json", [this] { ++changes; }) { watch.start(); }
  ~Fixture() { watch.stop(); }

  // Runs the loop until a change is reported or `limit` passes; true when one was.
  bool changed(std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (changes == 0 && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(10ms);
    }
    bool seen = changes != 0;
    changes = 0;
    return seen;
  }
  // Whatever events are coming have come: nothing was reported.
  bool quiet() { return !changed(300ms); }
};

}  // namespace

TEST_CASE("state watch: another writer's complete state.json is reported, a write in progress is not",
          "[state_watch]") {
  TempDir t;
  hs::test::spit(t / "state.json", "{}");
  Fixture fx(t.path());

  // Written in place: reported once the writer closes it, not before.
  int fd = ::open((t / "state.json").c_str(), O_WRONLY | O_TRUNC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "{\"a\"", 4) == 4);
  CHECK(fx.quiet());
  REQUIRE(::write(fd, ":1}", 3) == 3);
  ::close(fd);
  CHECK(fx.changed());

  // Saved by rename, as HarnessSync saves it.
  hs::test::spit(t / "tmp123.tmp", "{\"b\":2}");
  CHECK(fx.quiet());  // the temp file is not state.json ...
  REQUIRE(::rename((t / "tmp123.tmp").c_str(), (t / "state.json").c_str()) == 0);
  CHECK(fx.changed());  // ... until it is renamed over it
}

TEST_CASE("state watch: a state dir that is a symlink is watched where it points", "[state_watch]") {
  TempDir t;
  REQUIRE(::mkdir((t / "real").c_str(), 0700) == 0);
  REQUIRE(::symlink((t / "real").c_str(), (t / "link").c_str()) == 0);
  Fixture fx(t / "link");
  hs::test::spit(t / "real/state.json", "{}");
  CHECK(fx.changed());
}
