// The file watch with real files and a real inotify: every way a file
// changes marks its interest, symlinks are followed, re-created directories
// are watched again, sync() reads every earlier event, and what cannot be
// watched is polled. Timeouts are generous (a loaded 2-core machine); no
// test asserts a latency.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "daemon/watch/file_watch.hpp"
#include "common/platform.hpp"
#include "daemon/watch/resolve.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::daemon::watch::Dep;
using hs::daemon::watch::FileWatch;
using hs::daemon::watch::Resolver;
using hs::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  boost::asio::io_context io;
  FileWatch fw;
  std::vector<std::string> dirty;  // every key reported, in order

  explicit Fixture(FileWatch::Config cfg = {}) : fw(io, cfg) {
    fw.set_on_dirty([this](const std::vector<std::string>& keys) {
      dirty.insert(dirty.end(), keys.begin(), keys.end());
    });
  }
  ~Fixture() { fw.stop(); }

  // Runs the loop until `pred` holds or `limit` passes.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      io.restart();
      io.run_for(10ms);
    }
    return true;
  }
  // Waits for `key` to be reported; clears what was reported.
  bool reported(const std::string& key, std::chrono::milliseconds limit = 10s) {
    bool ok = run_until([&] { return std::find(dirty.begin(), dirty.end(), key) != dirty.end(); }, limit);
    dirty.clear();
    return ok;
  }
  // Lets pending events arrive and be debounced, then forgets them.
  void settle() {
    io.restart();
    io.run_for(400ms);
    dirty.clear();
  }
  // set_interest, and waits until its watches are in place (a round on
  // the watch's worker).
  void interest(const std::string& key, std::vector<std::string> paths) {
    bool ready = false;
    fw.set_interest(key, std::move(paths), [&] { ready = true; });
    REQUIRE(run_until([&] { return ready; }));
  }
  void sync() {
    bool done = false;
    fw.sync([&] { done = true; });
    REQUIRE(run_until([&] { return done; }));
  }
};

void must(int rc) { REQUIRE(rc == 0); }

}  // namespace

TEST_CASE("file watch: every way a file changes marks its interest", "[file_watch]") {
  TempDir t;
  const std::string d = t / "skills";
  must(::mkdir(d.c_str(), 0755));
  const std::string f = d + "/AGENTS.md";
  hs::test::spit(f, "one\n");
  Fixture fx;
  fx.interest("codex", {f});
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 1);
  CHECK(fx.fw.info().at("polled").to_number<int64_t>() == 0);

  SECTION("written in place") {
    hs::test::spit(f, "two\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("saved by rename") {
    hs::test::spit(d + "/.AGENTS.md.swp", "two\n");
    must(std::rename((d + "/.AGENTS.md.swp").c_str(), f.c_str()));
    CHECK(fx.reported("codex"));
    // Still watched after the rename replaced the inode.
    hs::test::spit(f, "three\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("deleted, then re-created") {
    must(::unlink(f.c_str()));
    CHECK(fx.reported("codex"));
    hs::test::spit(f, "back\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("moved away") {
    must(std::rename(f.c_str(), (t / "elsewhere").c_str()));
    CHECK(fx.reported("codex"));
    // Changes to it where it went are not ours.
    hs::test::spit(t / "elsewhere", "x\n");
    fx.settle();
    hs::test::spit(f, "new\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("its directory removed and re-created") {
    must(::unlink(f.c_str()));
    must(::rmdir(d.c_str()));
    CHECK(fx.reported("codex"));
    must(::mkdir(d.c_str(), 0755));
    CHECK(fx.reported("codex"));
    hs::test::spit(f, "again\n");
    CHECK(fx.reported("codex"));
    fx.settle();
    // The new directory is watched: a write in place is seen.
    hs::test::spit(f, "and again\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("its directory renamed away and another put in its place") {
    must(std::rename(d.c_str(), (t / "old").c_str()));
    CHECK(fx.reported("codex"));
    must(::mkdir(d.c_str(), 0755));
    hs::test::spit(f, "fresh\n");
    CHECK(fx.reported("codex"));
    fx.settle();
    hs::test::spit(t / "old/AGENTS.md", "not ours\n");
    hs::test::spit(f, "ours\n");
    CHECK(fx.reported("codex"));
  }
  SECTION("chmod and touch -d") {
    must(::chmod(f.c_str(), 0600));
    CHECK(fx.reported("codex"));
    CHECK(hs::test::run("touch -d '2001-01-01 00:00:00' '" + f + "' && echo ok") == "ok\n");
    CHECK(fx.reported("codex"));
  }
}

TEST_CASE("file watch: a new path is watched off the loop, and not trusted before", "[file_watch]") {
  TempDir t;
  hs::test::spit(t / "f", "1");
  Fixture fx;
  bool ready = false;
  fx.fw.set_interest("k", {t / "f"}, [&] { ready = true; });
  // set_interest made no file system call: the worker resolves and
  // watches, the loop applies its result.
  CHECK_FALSE(ready);
  CHECK(fx.fw.generation(t / "f") == 0);
  REQUIRE(fx.run_until([&] { return ready; }));
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 1);
#if HS_HAVE_INOTIFY
  CHECK(fx.fw.generation(t / "f") != 0);
#endif
  // Another interest in a path already watched is ready without a round.
  bool again = false;
  fx.fw.set_interest("k2", {t / "f"}, [&] { again = true; });
  CHECK(fx.run_until([&] { return again; }, 1s));
  hs::test::spit(t / "f", "2");
  CHECK(fx.run_until([&] {
    return std::count(fx.dirty.begin(), fx.dirty.end(), "k") != 0 &&
           std::count(fx.dirty.begin(), fx.dirty.end(), "k2") != 0;
  }));
}

#if HS_HAVE_INOTIFY  // a generation trusted from events: inotify only (polling trusts none)
TEST_CASE("file watch: another file of a watched directory is not a change", "[file_watch]") {
  TempDir t;
  hs::test::spit(t / "tracked", "a");
  Fixture fx;
  fx.interest("k", {t / "tracked"});
  const uint64_t g = fx.fw.generation(t / "tracked");
  CHECK(g != 0);
  hs::test::spit(t / "other", "b");
  fx.settle();
  fx.sync();
  CHECK(fx.dirty.empty());
  CHECK(fx.fw.generation(t / "tracked") == g);
}
#endif  // HS_HAVE_INOTIFY

TEST_CASE("file watch: a symlink is followed, and a retarget is a change", "[file_watch]") {
  TempDir t;
  must(::mkdir((t / "claude").c_str(), 0755));
  must(::mkdir((t / "codex").c_str(), 0755));
  must(::mkdir((t / "claude/skill-a").c_str(), 0755));
  must(::mkdir((t / "claude/skill-b").c_str(), 0755));
  hs::test::spit(t / "claude/skill-a/SKILL.md", "a\n");
  hs::test::spit(t / "claude/skill-b/SKILL.md", "b\n");
  // As HarnessSync syncs skills: the skill directory is a link.
  must(::symlink((t / "claude/skill-a").c_str(), (t / "codex/skill").c_str()));
  const std::string tracked = t / "codex/skill/SKILL.md";
  Fixture fx;
  fx.interest("codex", {tracked});

  // The link's target changes.
  hs::test::spit(t / "claude/skill-a/SKILL.md", "a2\n");
  CHECK(fx.reported("codex"));
  // The link is retargeted.
  must(::unlink((t / "codex/skill").c_str()));
  must(::symlink((t / "claude/skill-b").c_str(), (t / "codex/skill").c_str()));
  CHECK(fx.reported("codex"));
  fx.settle();
  // The new target is watched now ...
  hs::test::spit(t / "claude/skill-b/SKILL.md", "b2\n");
  CHECK(fx.reported("codex"));
  fx.settle();
  // ... and the old one no longer concerns it.
  const uint64_t g = fx.fw.generation(tracked);
  hs::test::spit(t / "claude/skill-a/SKILL.md", "a3\n");
  fx.settle();
  fx.sync();
  CHECK(fx.fw.generation(tracked) == g);
}

TEST_CASE("file watch: a path hangs on each entry on its way, through links, up to where it stops",
          "[file_watch]") {
  TempDir t;
  char* resolved = ::realpath(t.path().c_str(), nullptr);
  REQUIRE(resolved != nullptr);
  const std::string root = resolved;
  std::free(resolved);
  must(::mkdir((root + "/real").c_str(), 0755));
  hs::test::spit(root + "/real/f", "x");
  must(::symlink("real", (root + "/link").c_str()));  // relative to its directory
  auto has = [](const std::vector<Dep>& deps, const Dep& d) {
    return std::find(deps.begin(), deps.end(), d) != deps.end();
  };

  const auto deps = Resolver("/").deps(root + "/link/f");
  CHECK(has(deps, {"/", root.substr(1, root.find('/', 1) - 1)}));  // every ancestor too
  CHECK(has(deps, {root, "link"}));
  CHECK(has(deps, {root, "real"}));
  CHECK(has(deps, {root + "/real", "f"}));
  CHECK_FALSE(has(deps, {root + "/link", "f"}));  // a link is not a directory to watch
  CHECK(std::is_sorted(deps.begin(), deps.end()));
  // Relative to the working directory, through "..": the same entries.
  CHECK(Resolver(root + "/real").deps("../link/./f") == deps);
  // It stops where the path stops: the missing entry is watched, so its
  // appearance is seen; nothing below it is.
  const auto missing = Resolver("/").deps(root + "/gone/x");
  CHECK(has(missing, {root, "gone"}));
  CHECK(std::none_of(missing.begin(), missing.end(), [&](const Dep& d) { return d.first == root + "/gone"; }));
}

#if HS_HAVE_INOTIFY  // inotify's guarantee; a polling backend trusts no generation (poll_backend_test)
TEST_CASE("file watch: sync() returns after every earlier event was read", "[file_watch]") {
  TempDir t;
  hs::test::spit(t / "f", "1");
  Fixture fx;
  fx.interest("k", {t / "f"});
  for (int i = 0; i < 50; ++i) {
    const uint64_t before = fx.fw.generation(t / "f");
    REQUIRE(before != 0);
    hs::test::spit(t / "f", std::to_string(i));
    // No debounce, no flush: the sync alone must have taken the event in.
    fx.sync();
    CHECK(fx.fw.generation(t / "f") != before);
    fx.settle();
  }
}
#endif  // HS_HAVE_INOTIFY

TEST_CASE("file watch: releasing interests releases the watches", "[file_watch]") {
  TempDir t;
  must(::mkdir((t / "a").c_str(), 0755));
  hs::test::spit(t / "a/1", "1");
  hs::test::spit(t / "a/2", "2");
  Fixture fx;
  fx.interest("x", {t / "a/1", t / "a/2"});
  fx.interest("y", {t / "a/2"});
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 2);
  CHECK(fx.fw.info().at("watches").to_number<int64_t>() > 0);
  fx.interest("x", {t / "a/1"});
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 2);
  fx.fw.drop_interest("y");
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 1);
  CHECK(fx.fw.generation(t / "a/2") == 0);
  fx.fw.drop_interest("x");
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 0);
  CHECK(fx.fw.info().at("watches").to_number<int64_t>() == 0);
  CHECK(fx.fw.generation(t / "a/1") == 0);
}

TEST_CASE("file watch: past --max-watches, paths are polled and changes still seen", "[file_watch]") {
  TempDir t;
  hs::test::spit(t / "f", "1");
  FileWatch::Config cfg;
  cfg.max_watches = 1;  // "/" only: everything below is polled
  cfg.poll_every = 200ms;
  Fixture fx(cfg);
  fx.interest("k", {t / "f"});
  CHECK(fx.fw.info().at("polled").to_number<int64_t>() == 1);
  CHECK(fx.fw.info().at("paths").to_number<int64_t>() == 0);
  CHECK(fx.fw.generation(t / "f") == 0);  // never trusted without a stat
  hs::test::spit(t / "f", "22");
  CHECK(fx.reported("k"));
  must(::unlink((t / "f").c_str()));
  CHECK(fx.reported("k"));
  hs::test::spit(t / "f", "3");
  CHECK(fx.reported("k"));
}

TEST_CASE("file watch: a path whose watches come free again is watched again", "[file_watch]") {
  TempDir t;
  must(::mkdir((t / "a").c_str(), 0755));
  must(::mkdir((t / "b").c_str(), 0755));
  hs::test::spit(t / "a/f", "1");
  hs::test::spit(t / "b/f", "1");
  FileWatch::Config cfg;
  cfg.poll_every = 200ms;
  {
    // How many directories one of them needs.
    Fixture probe;
    probe.interest("a", {t / "a/f"});
    cfg.max_watches = static_cast<size_t>(probe.fw.info().at("watches").to_number<int64_t>());
  }
  Fixture fx(cfg);
  fx.interest("a", {t / "a/f"});
  fx.interest("b", {t / "b/f"});
  CHECK(fx.fw.info().at("polled").to_number<int64_t>() == 1);
  fx.fw.drop_interest("a");
  CHECK(fx.run_until([&] { return fx.fw.info().at("polled").to_number<int64_t>() == 0; }));
  fx.settle();
  hs::test::spit(t / "b/f", "2");
  CHECK(fx.reported("b"));
}

#if HS_HAVE_INOTIFY  // a kernel event queue that overflows: inotify only
TEST_CASE("file watch: a real queue overflow marks every path, even one whose event was lost",
          "[file_watch]") {
  // The kernel queues at most max_queued_events per inotify descriptor;
  // the loop does not run while the directory is flooded, so the queue
  // overflows for real and the tracked file's own event is dropped.
  long max_events = 16384;
  {
    std::FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    if (f != nullptr) {
      if (std::fscanf(f, "%ld", &max_events) != 1) max_events = 16384;
      std::fclose(f);
    }
  }
  if (max_events > 200000) {
    WARN("max_queued_events is " << max_events << ": too many files to flood it here; skipped");
    return;
  }
  TempDir t;
  must(::mkdir((t / "flood").c_str(), 0755));
  hs::test::spit(t / "tracked", "1");
  hs::test::spit(t / "flood/tracked2", "1");
  Fixture fx;
  fx.interest("a", {t / "tracked"});
  fx.interest("b", {t / "flood/tracked2"});
  const uint64_t g = fx.fw.generation(t / "tracked");
  // Each new file is one IN_CREATE (and no other event: created, not written).
  for (long i = 0; i <= max_events; ++i) {
    const std::string p = t / ("flood/n" + std::to_string(i));
    int fd = ::open(p.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  hs::test::spit(t / "tracked", "2");  // its event does not fit any more
  CHECK(fx.run_until([&] {
    return std::find(fx.dirty.begin(), fx.dirty.end(), "a") != fx.dirty.end() &&
           std::find(fx.dirty.begin(), fx.dirty.end(), "b") != fx.dirty.end();
  }, 30s));
  fx.sync();
  CHECK(fx.fw.generation(t / "tracked") != g);
  CHECK(fx.fw.generation(t / "tracked") != 0);
}
#endif  // HS_HAVE_INOTIFY
