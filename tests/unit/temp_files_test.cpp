// The store's own files beside state.json (daemon/store/temp_files.hpp):
// start-up removes only what the daemon itself left, by its own names, and
// never loses another writer's save that a crash left at a swap name.
#include <sys/stat.h>

#include "common/file_stat.hpp"
#include "common/fs.hpp"
#include "daemon/store/temp_files.hpp"
#include "tests/catch.hpp"
#include "tests/support/store_fixture.hpp"

using hs::test::StoreFixture;

namespace {

hs::FileStat stat_of(const std::string& path) {
  auto st = hs::stat_if_exists(path);
  REQUIRE(st);
  REQUIRE(st->has_value());
  return **st;
}

}  // namespace

TEST_CASE("start-up removes the daemon's own temp files and no other writer's", "[store][load][sweep]") {
  StoreFixture f;
  hs::test::spit(f.dir / "state.json.harnesssyncd-new.AbC123", "half a wri");
  // Names an older daemon used for its temp files: state.json.tmp.XXXXXX.
  hs::test::spit(f.dir / "state.json.tmp.Zz9xY8", "half a wri");
  // HarnessSync's own save (tempfile.NamedTemporaryFile(dir=..., suffix=".tmp")),
  // maybe a live writer's about to be renamed: never ours to remove.
  hs::test::spit(f.dir / "tmpab_cd123.tmp", "python's");
  hs::test::spit(f.dir / "tmpnotours.txt", "keep");
  hs::test::spit(f.dir / "notes.tmp", "keep");
  hs::test::spit(f.dir / "state.json.harnesssyncd-swap.not-a-swap-name", "keep");
  auto s = f.open();
  CHECK(hs::test::list(f.dir.path()) ==
        "harnesssyncd.lock\nnotes.tmp\nstate.json.harnesssyncd-swap.not-a-swap-name\ntmpab_cd123.tmp\ntmpnotours.txt\n");
  CHECK(hs::test::slurp(f.dir / "tmpab_cd123.tmp") == "python's");
  CHECK(f.warnings.size() == 2);
}

TEST_CASE("a swap file left by a crash is sorted out by what it holds", "[store][load][sweep]") {
  StoreFixture f;
  const std::string state = f.state_path();
  const std::string dir = f.dir.path();
  // `old` stands for state.json as the interrupted write expected it, `own`
  // for the new file it wrote.
  hs::test::spit(f.dir / "old", R"({"version": 1, "targets": {"old": {}}})");
  hs::test::spit(f.dir / "own", R"({"version": 1, "targets": {"own": {}}})");
  const hs::FileStat old = stat_of(f.dir / "old");
  const hs::FileStat own = stat_of(f.dir / "own");
  const std::string swap = hs::daemon::store::swap_name(dir, old, own.ino);

  SECTION("the new file, never swapped in: removed, state.json as it was") {
    REQUIRE(::rename((f.dir / "old").c_str(), state.c_str()) == 0);
    REQUIRE(::rename((f.dir / "own").c_str(), swap.c_str()) == 0);
    auto s = f.open();
    CHECK(hs::test::list(dir) == "harnesssyncd.lock\nstate.json\n");
    CHECK(f.disk().at("targets").as_object().contains("old"));
  }
  SECTION("the old file, swapped out: removed, the new state.json stays") {
    REQUIRE(::rename((f.dir / "own").c_str(), state.c_str()) == 0);
    REQUIRE(::rename((f.dir / "old").c_str(), swap.c_str()) == 0);
    auto s = f.open();
    CHECK(hs::test::list(dir) == "harnesssyncd.lock\nstate.json\n");
    CHECK(f.disk().at("targets").as_object().contains("own"));
  }
  SECTION("another writer's save, displaced by the swap: it goes back over the unacknowledged new file") {
    REQUIRE(::rename((f.dir / "own").c_str(), state.c_str()) == 0);
    hs::test::spit(swap, R"({"version": 1, "targets": {"theirs": {}}})");
    auto s = f.open();
    CHECK(hs::test::list(dir) == "harnesssyncd.lock\nold\nstate.json\n");
    CHECK(f.disk().at("targets").as_object().contains("theirs"));
    CHECK(s->find_entry({"theirs", std::nullopt}) != nullptr);
  }
  SECTION("another writer's save, displaced, when state.json changed since: kept aside, never deleted") {
    REQUIRE(::rename((f.dir / "own").c_str(), (f.dir / "gone").c_str()) == 0);
    hs::test::spit(state, R"({"version": 1, "targets": {"newer": {}}})");
    hs::test::spit(swap, R"({"version": 1, "targets": {"theirs": {}}})");
    auto s = f.open();
    CHECK(f.disk().at("targets").as_object().contains("newer"));
    auto names = hs::fs::list_dir(dir);
    REQUIRE(names);
    int displaced = 0;
    for (const auto& n : *names) {
      if (n.rfind("state.json.displaced.", 0) != 0) continue;
      ++displaced;
      CHECK(hs::test::slurp(f.dir / n).find("theirs") != std::string::npos);
    }
    CHECK(displaced == 1);
    CHECK_FALSE(hs::stat_if_exists(swap).value().has_value());
  }
}
