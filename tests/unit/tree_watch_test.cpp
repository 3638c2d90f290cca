// The trigger watch (daemon/watch/tree_watch.hpp) on real directories and
// real inotify: whole trees, directories made later, roots that appear,
// saves by rename, a root replaced, the polling fallback, the kernel's
// queue overflowing, sync to now, and stat signatures.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "common/platform.hpp"
#include "daemon/watch/tree_watch.hpp"
#include "tests/catch.hpp"

using hs::daemon::watch::TreeWatch;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Rig {
  explicit Rig(TreeWatch::Config cfg = {})
      : w(io, cfg, [this](const std::string& key, std::vector<std::string> paths, bool unknown) {
          if (unknown) unknown_keys.insert(key);
          seen[key].insert(paths.begin(), paths.end());
        }) {
    std::string t = (fs::temp_directory_path() / "hs-tree-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = fs::canonical(t).string();
  }
  ~Rig() {
    w.stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  boost::asio::io_context io;
  TreeWatch w;
  std::string dir;
  std::map<std::string, std::set<std::string>> seen;
  std::set<std::string> unknown_keys;

  std::string p(const std::string& rel) const { return dir + "/" + rel; }
  void write(const std::string& rel, const std::string& text = "x") {
    std::ofstream(p(rel)) << text;
  }
  void run_until(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(10ms);
    }
  }
  void set(const std::string& key, std::vector<std::string> roots) {
    bool ready = false;
    w.set_roots(key, std::move(roots), [&] { ready = true; });
    run_until([&] { return ready; });
    REQUIRE(ready);
  }
  // Everything changed before this call has been reported afterwards.
  void sync() {
    bool done = false;
    w.sync([&] { done = true; });
    run_until([&] { return done; });
    REQUIRE(done);
  }
  bool saw(const std::string& key, const std::string& rel) { return seen[key].count(p(rel)) != 0; }
};

}  // namespace

TEST_CASE("tree watch: a file root and a tree root report what changed, to their keys only", "[triggers][watch]") {
  Rig r;
  r.write("CLAUDE.md");
  fs::create_directories(r.p("claude/commands"));
  r.write("claude/commands/a.md");
  r.write("other");
  r.set("file", {r.p("CLAUDE.md")});
  r.set("tree", {r.p("claude")});
  r.write("CLAUDE.md", "new");
  r.write("claude/commands/a.md", "new");
  r.write("other", "new");
  r.sync();
  CHECK(r.saw("file", "CLAUDE.md"));
  CHECK(r.seen["file"].size() == 1);
  CHECK(r.saw("tree", "claude/commands/a.md"));
  CHECK_FALSE(r.saw("tree", "CLAUDE.md"));
  CHECK_FALSE(r.saw("tree", "other"));
}

TEST_CASE("tree watch: directories made later are watched, and what they held is reported", "[triggers][watch]") {
  Rig r;
  fs::create_directories(r.p("root"));
  r.set("k", {r.p("root")});
  // Made faster than a watch could be set on each level: the listing after
  // each watch finds what the events could not.
  fs::create_directories(r.p("root/a/b/c"));
  r.write("root/a/b/c/deep.md");
  r.sync();
  r.run_until([&] { return r.saw("k", "root/a/b/c/deep.md"); });
  CHECK(r.saw("k", "root/a/b/c/deep.md"));
  r.seen.clear();
  r.write("root/a/b/c/deep.md", "again");
  r.sync();
  CHECK(r.saw("k", "root/a/b/c/deep.md"));
}

TEST_CASE("tree watch: a root that does not exist yet is reported when it appears", "[triggers][watch]") {
  Rig r;
  r.set("k", {r.p("proj/.claude"), r.p("proj/CLAUDE.md")});
  fs::create_directories(r.p("proj/.claude/agents"));
  r.sync();
  r.run_until([&] { return r.saw("k", "proj/.claude"); });
  CHECK(r.saw("k", "proj/.claude"));
  r.seen.clear();
  r.write("proj/.claude/agents/x.md");
  r.write("proj/CLAUDE.md");
  r.sync();
  r.run_until([&] { return r.saw("k", "proj/CLAUDE.md") && r.saw("k", "proj/.claude/agents/x.md"); });
  CHECK(r.saw("k", "proj/.claude/agents/x.md"));
  CHECK(r.saw("k", "proj/CLAUDE.md"));
}

TEST_CASE("tree watch: a save by rename, a delete, and a root directory replaced", "[triggers][watch]") {
  Rig r;
  r.write("CLAUDE.md");
  fs::create_directories(r.p("d/sub"));
  r.set("k", {r.p("CLAUDE.md"), r.p("d")});
  r.write("tmp.swp", "saved");
  fs::rename(r.p("tmp.swp"), r.p("CLAUDE.md"));
  r.sync();
  CHECK(r.saw("k", "CLAUDE.md"));
  // The root directory moved away and made again: the new one is watched.
  fs::rename(r.p("d"), r.p("d.old"));
  fs::create_directories(r.p("d/sub"));
  r.sync();
  r.seen.clear();
  r.write("d/sub/new.md");
  r.sync();
  r.run_until([&] { return r.saw("k", "d/sub/new.md"); });
  CHECK(r.saw("k", "d/sub/new.md"));
  r.seen.clear();
  r.write("d.old/sub/stale.md");  // the old tree is nobody's now
  fs::remove(r.p("CLAUDE.md"));
  r.sync();
  CHECK(r.saw("k", "CLAUDE.md"));
  CHECK_FALSE(r.saw("k", "d.old/sub/stale.md"));
}

TEST_CASE("tree watch: two keys share a tree; dropping one leaves the other watched", "[triggers][watch]") {
  Rig r;
  fs::create_directories(r.p("shared/x"));
  r.set("a", {r.p("shared")});
  r.set("b", {r.p("shared/x")});
  r.write("shared/x/f");
  r.sync();
  CHECK(r.saw("a", "shared/x/f"));
  CHECK(r.saw("b", "shared/x/f"));
  r.w.drop("a");
  r.seen.clear();
  r.write("shared/x/f", "2");
  r.write("shared/g");
  r.sync();
  CHECK(r.saw("b", "shared/x/f"));
  CHECK(r.seen["a"].empty());
  CHECK_FALSE(r.saw("b", "shared/g"));
}

TEST_CASE("tree watch: what cannot be watched is polled", "[triggers][watch]") {
  TreeWatch::Config cfg;
  cfg.max_watches = 1;  // the root's parent (its anchor) takes the only one
  cfg.poll_every = 100ms;
  Rig r(cfg);
  fs::create_directories(r.p("t/deep"));
  r.set("k", {r.p("t")});
  CHECK(r.w.info().at("polled").to_number<int64_t>() >= 1);
  r.write("t/deep/f");
  r.run_until([&] { return r.saw("k", "t/deep/f"); }, 5s);
  CHECK(r.saw("k", "t/deep/f"));
  fs::create_directories(r.p("t/deep/newer"));
  r.write("t/deep/newer/g");
  r.run_until([&] { return r.saw("k", "t/deep/newer/g"); }, 5s);
  CHECK(r.saw("k", "t/deep/newer/g"));
}

#if HS_HAVE_INOTIFY  // a kernel event queue that overflows: inotify only
TEST_CASE("tree watch: an overflowed kernel queue reports unknown, and the tree is watched again", "[triggers][watch]") {
  Rig r;
  fs::create_directories(r.p("t"));
  r.write("t/f");
  r.write("t/g");
  r.set("k", {r.p("t")});
  // The loop does not read meanwhile: more events than the kernel queues
  // (two files in turn: the kernel merges an event with the one before it
  // when they are the same).
  int max_events = 16384;
  if (FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r")) {
    if (std::fscanf(f, "%d", &max_events) != 1) max_events = 16384;
    std::fclose(f);
  }
  for (int i = 0; i < max_events + 100; ++i) ::utimensat(AT_FDCWD, r.p(i % 2 ? "t/f" : "t/g").c_str(), nullptr, 0);
  r.sync();
  r.run_until([&] { return r.unknown_keys.count("k") != 0; });
  CHECK(r.unknown_keys.count("k"));
  r.seen.clear();
  r.unknown_keys.clear();
  r.write("t/after");
  r.sync();
  CHECK(r.saw("k", "t/after"));
}
#endif  // HS_HAVE_INOTIFY

TEST_CASE("tree watch: the signature changes with a file, and only then", "[triggers][watch]") {
  Rig r;
  fs::create_directories(r.p("t/sub"));
  r.write("t/sub/f", "1");
  r.write("one", "1");
  r.set("k", {r.p("t"), r.p("one"), r.p("missing")});
  auto sig = [&] {
    std::string s;
    r.w.signature("k", [&](std::string v) { s = std::move(v); });
    r.run_until([&] { return !s.empty(); });
    REQUIRE(s.size() == 64);
    return s;
  };
  const auto a = sig();
  CHECK(sig() == a);
  r.write("t/sub/f", "22");
  const auto b = sig();
  CHECK(b != a);
  r.write("missing", "now here");
  CHECK(sig() != b);
}
