// The state store against docs/STATE.md: the seed StateManager's behaviours and
// the daemon's stricter guarantees. Records and the file they make, clear,
// bad arguments, the single-writer lock, failed writes and group commit;
// the load rules are in store_load_test.cpp, drift, accept, migration and
// layout 2 in store_changes_test.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/rules.hpp"
#include "tests/catch.hpp"
#include "tests/support/fsize_limit.hpp"
#include "tests/support/store_fixture.hpp"

namespace json = boost::json;
using hs::daemon::store::TargetRef;
using hs::test::hashes;
using hs::test::kHashA;
using hs::test::kHashB;
using hs::test::Paths;
using hs::test::record_args;
using hs::test::strings;
using hs::test::StoreFixture;

TEST_CASE("a fresh store is empty and writes nothing", "[store]") {
  StoreFixture f;
  auto s = f.open();
  CHECK(json::serialize(s->document()) == R"({"version":1,"targets":{}})");
  CHECK(s->find_entry({"codex", {}}) == nullptr);
  CHECK_FALSE(s->pending());
  CHECK_FALSE(hs::test::exists(f.state_path()));
  CHECK(hs::test::mode_of(f.dir.path()) == 0700);
}

TEST_CASE("record sets the status from the counts", "[store]") {
  struct Case {
    int64_t synced, skipped, failed;
    const char* status;
  } cases[] = {{5, 2, 0, "success"}, {3, 0, 2, "partial"}, {0, 1, 4, "failed"}, {0, 0, 0, "success"}};
  StoreFixture f;
  auto s = f.open();
  for (const auto& c : cases) {
    auto e = s->record(record_args("codex", {}, c.synced, c.skipped, c.failed));
    REQUIRE(e);
    CHECK(e->at("status").as_string() == c.status);
    CHECK(e->at("target").as_string() == "codex");
    const json::value disk = f.disk();
    const auto& stored = disk.at("targets").at("codex");
    CHECK(stored.at("status").as_string() == c.status);
    CHECK(stored.at("items_synced").as_int64() == c.synced);
    CHECK(stored.at("items_skipped").as_int64() == c.skipped);
    CHECK(stored.at("items_failed").as_int64() == c.failed);
    CHECK_FALSE(stored.as_object().contains("target"));
  }
}

TEST_CASE("the file on disk is the documented layout, byte for byte", "[store]") {
  StoreFixture f;
  auto s = f.open();
  auto args = record_args("codex", hashes({{"/home/u/.claude/CLAUDE.md", "9f86d081884c7d65"}}), 5, 2, 0);
  args.sync_methods["/home/u/.codex/skills/föö"] = "symlink";
  REQUIRE(s->record(args));
  const std::string ts = hs::iso_local(f.now);
  const std::string expected =
      "{\n"
      "  \"version\": 1,\n"
      "  \"last_sync\": \"" + ts + "\",\n"
      "  \"targets\": {\n"
      "    \"codex\": {\n"
      "      \"last_sync\": \"" + ts + "\",\n"
      "      \"status\": \"success\",\n"
      "      \"scope\": \"all\",\n"
      "      \"file_hashes\": {\n"
      "        \"/home/u/.claude/CLAUDE.md\": \"9f86d081884c7d65\"\n"
      "      },\n"
      "      \"sync_method\": {\n"
      "        \"/home/u/.codex/skills/föö\": \"symlink\"\n"
      "      },\n"
      "      \"items_synced\": 5,\n"
      "      \"items_skipped\": 2,\n"
      "      \"items_failed\": 0\n"
      "    }\n"
      "  }\n"
      "}\n";
  CHECK(hs::test::slurp(f.state_path()) == expected);
  CHECK(hs::test::mode_of(f.state_path()) == 0600);
  CHECK(hs::test::list(f.dir.path()) == "harnesssyncd.lock\nstate.json\n");
}

TEST_CASE("the text form escapes like Python's json.dumps(ensure_ascii=False)", "[store]") {
  json::value v = json::parse(R"({"a": "quote\" back\\ nl\n tab\t ctl\u0001 é ✓", "b": [], "c": {}, "d": [1, null, true]})");
  CHECK(hs::daemon::store::to_state_text(v) ==
        "{\n  \"a\": \"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 é ✓\",\n  \"b\": [],\n"
        "  \"c\": {},\n  \"d\": [\n    1,\n    null,\n    true\n  ]\n}\n");
}

TEST_CASE("numbers too large for a double are written so they read back", "[store]") {
  StoreFixture f;
  hs::test::spit(f.state_path(), R"({"version": 1, "targets": {}, "big": 1e400, "small": -1e400, "n": [1.5, 2]})");
  {
    auto s = f.open();
    REQUIRE(s->record(record_args("codex", {})));
  }
  const std::string text = hs::test::slurp(f.state_path());
  CHECK(text.find("\"big\": 1e999") != std::string::npos);
  CHECK(text.find("\"small\": -1e999") != std::string::npos);
  // It parses (no backup on the next start) and keeps the values.
  auto s = f.open();
  CHECK(f.warnings.empty());
  CHECK(std::isinf(s->document().at("big").as_double()));
  CHECK(s->document().at("n").as_array()[0].as_double() == 1.5);
  CHECK(s->document().at("n").as_array()[1].as_int64() == 2);
}

TEST_CASE("state survives a reload from disk", "[store]") {
  StoreFixture f;
  json::object before;
  {
    auto s = f.open();
    REQUIRE(s->record(record_args("codex", hashes({{"/a", kHashA}}), 1, 0, 0)));
    REQUIRE(s->record(record_args("gemini", hashes({{"/b", kHashB}}), 2, 1, 1)));
    before = s->document();
  }
  auto s = f.open();
  CHECK(s->document() == before);
  REQUIRE(s->find_entry({"gemini", {}}) != nullptr);
  CHECK(s->find_entry({"gemini", {}})->at("status").as_string() == "partial");
}

TEST_CASE("clear removes one target and leaves the others", "[store]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", {})));
  REQUIRE(s->record(record_args("gemini", {})));
  auto cleared = s->clear({"codex", {}});
  REQUIRE(cleared);
  CHECK(*cleared);
  CHECK(s->find_entry({"codex", {}}) == nullptr);
  CHECK(s->find_entry({"gemini", {}}) != nullptr);
  auto disk = f.disk();
  CHECK_FALSE(disk.at("targets").as_object().contains("codex"));
  CHECK(disk.at("targets").as_object().contains("gemini"));

  // Nothing to clear: no write at all (the file's inode stays the same).
  struct stat before {}, after {};
  REQUIRE(::stat(f.state_path().c_str(), &before) == 0);
  auto again = s->clear({"codex", {}});
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK_FALSE(s->pending());
  REQUIRE(::stat(f.state_path().c_str(), &after) == 0);
  CHECK(before.st_ino == after.st_ino);
}

TEST_CASE("the whole document holds every target and the top-level last_sync", "[store]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", {})));
  REQUIRE(s->record(record_args("opencode", {})));
  const auto& doc = s->document();
  CHECK(doc.at("version").as_int64() == 1);
  CHECK(doc.at("last_sync").as_string() == hs::iso_local(f.now));
  CHECK(doc.at("targets").as_object().size() == 2);
  CHECK(json::value(doc) == f.disk());
}

TEST_CASE("record rejects bad arguments and changes nothing", "[store]") {
  StoreFixture f;
  auto s = f.open();
  struct Case {
    hs::daemon::store::RecordArgs args;
    const char* field;
  } cases[] = {
      {record_args("", {}), "target"},
      {record_args("a b", {}), "target"},
      {record_args("codex", {}, 1, 0, 0, "bad/account"), "account"},
      {record_args("codex", {}, -1), "synced"},
      {record_args("codex", {}, 1, hs::kMaxCount + 1), "skipped"},
      {record_args("codex", {}, 1, 0, -5), "failed"},
      {record_args("codex", json::object{{"/a", 1}}), "file_hashes"},
      {record_args("codex", json::object{{"", "x"}}), "file_hashes"},
  };
  for (auto& c : cases) {
    INFO(c.field);
    auto r = s->record(c.args);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == hs::Errc::invalid_argument);
    CHECK(r.error().field == c.field);
  }
  auto methods = record_args("codex", {});
  methods.sync_methods["/x"] = 3;
  auto r = s->record(methods);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "sync_methods");
  CHECK_FALSE(s->pending());
  CHECK_FALSE(hs::test::exists(f.state_path()));
}

TEST_CASE("a second store on the same dir is refused and names the holder's pid", "[store][lock]") {
  StoreFixture f;
  auto s = f.open();
  auto second = hs::daemon::store::StateStore::open(f.options());
  REQUIRE_FALSE(second);
  CHECK(second.error().code == hs::Errc::busy);
  CHECK(second.error().message().find("pid " + std::to_string(::getpid())) != std::string::npos);
  s.reset();
  CHECK(hs::daemon::store::StateStore::open(f.options()));
}

TEST_CASE("a failed write leaves state.json byte-identical and memory unchanged", "[store][failure]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", hashes({{"/a", kHashA}}))));
  const std::string bytes = hs::test::slurp(f.state_path());
  const json::object memory = s->document();

  json::object big;
  for (int i = 0; i < 200; ++i) big["/file/" + std::to_string(i)] = kHashB;
  SECTION("record") {
    hs::test::FsizeLimit limit(bytes.size() + 16);
    auto r = s->record(record_args("gemini", big));
    REQUIRE_FALSE(r);
    CHECK(r.error().sys_errno == EFBIG);
  }
  SECTION("clear") {
    // Make the shrinking rewrite fail too: nothing at all may be written.
    hs::test::FsizeLimit limit(0);
    auto r = s->clear({"codex", {}});
    REQUIRE_FALSE(r);
  }
  SECTION("several changes sharing one commit all roll back") {
    REQUIRE(s->apply_record(record_args("gemini", big)));
    REQUIRE(s->apply_clear({"codex", {}}));
    REQUIRE(s->pending());
    hs::test::FsizeLimit limit(bytes.size() + 16);
    CHECK_FALSE(s->commit());
  }
  CHECK_FALSE(s->pending());
  CHECK(s->document() == memory);
  CHECK(hs::test::slurp(f.state_path()) == bytes);
  CHECK(hs::test::list(f.dir.path()) == "harnesssyncd.lock\nstate.json\n");
  // And the store goes on: the next write succeeds.
  REQUIRE(s->record(record_args("gemini", big)));
  CHECK(f.disk().at("targets").as_object().contains("gemini"));
}

TEST_CASE("a failed commit of mixed changes restores the document exactly, member order included",
          "[store][failure]") {
  StoreFixture f;
  hs::test::spit(f.state_path(), R"({"zeta": 1, "version": 1, "targets": {
    "a": {"file_hashes": {"/x": "1", "/y": "2", "/z": "3"}, "extra": true},
    "b": {}, "c": {"file_hashes": {}}}, "unknown": [1, 2]})");
  hs::test::TempDir files;
  hs::test::spit(files / "new", "new content");
  hs::test::spit(files / "sync-state.json", R"({"last_sync": "2025-01-01T00:00:00.000000"})");
  auto s = f.open();
  const std::string before = json::serialize(s->document());
  const std::string bytes = hs::test::slurp(f.state_path());

  REQUIRE(s->apply_clear({"b", {}}));                      // from the middle
  REQUIRE(s->apply_record(record_args("a", {})));          // replaces an entry
  REQUIRE(s->apply_record(record_args("d", {})));          // adds one
  REQUIRE(s->apply_record(record_args("w", {}, 1, 0, 0, "work")));  // adds accounts, version 2
  REQUIRE(s->apply_clear({"c", {}}));
  REQUIRE(s->apply_record(record_args("c", hashes({{"/x", kHashA}, {"/gone", kHashB}}))));
  REQUIRE(s->apply_accept({"c", {}}, hs::daemon::store::observe_files({"/x", files / "new", "/gone"})));
  REQUIRE(s->apply_migrate_cc2all(files.path()) );
  REQUIRE(s->pending());
  {
    hs::test::FsizeLimit limit(0);
    CHECK_FALSE(s->commit());
  }
  CHECK(json::serialize(s->document()) == before);
  CHECK(hs::test::slurp(f.state_path()) == bytes);
  // The next write holds the old document and the new change only.
  REQUIRE(s->record(record_args("e", {})));
  auto disk = f.disk().as_object();
  CHECK(disk.at("version").as_int64() == 1);
  CHECK_FALSE(disk.contains("accounts"));
  CHECK(disk.at("targets").at("a").at("extra").as_bool());
}

TEST_CASE("many changes share one durable write", "[store][group]") {
  StoreFixture f;
  auto s = f.open();
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.push_back("t" + std::to_string(i));
    REQUIRE(s->apply_record(record_args(names.back(), {})));
  }
  CHECK_FALSE(hs::test::exists(f.state_path()));
  auto w = s->begin_commit();
  hs::daemon::store::WriteInfo info;
  REQUIRE(hs::daemon::store::StateStore::write(w, &info));
  REQUIRE(s->end_commit({}, info));
  CHECK_FALSE(s->pending());
  CHECK(f.disk().at("targets").as_object().size() == 10);
}
