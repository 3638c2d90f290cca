// The state store's load rules (docs/STATE.md, "Loading"): legacy and
// unreadable files, odd versions, files that are not regular, symlinks,
// newer schemas, and the temp files an interrupted write leaves.
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

TEST_CASE("an object without an integer version is the legacy cc2all format", "[store][load]") {
  StoreFixture f;
  const std::string old = R"({"last_sync": "2024-01-01T12:00:00", "targets_synced": ["codex"]})";
  hs::test::spit(f.state_path(), old);
  auto s = f.open();
  CHECK(s->document().at("version").as_int64() == 1);
  CHECK(s->document().at("targets").as_object().empty());
  CHECK(s->document().at("migrated_from") == json::parse(old));
  // Held in memory; the file changes only with the first change.
  CHECK(hs::test::slurp(f.state_path()) == old);
  REQUIRE(s->record(record_args("codex", {})));
  CHECK(f.disk().at("migrated_from") == json::parse(old));

  StoreFixture g;
  hs::test::spit(g.state_path(), R"({"version": "1", "targets": {}})");
  auto t = g.open();
  CHECK(t->document().at("migrated_from").at("version").as_string() == "1");
}

TEST_CASE("an unreadable file is backed up and the store starts empty", "[store][load]") {
  const char* cases[] = {
      "{not json",
      "",
      "\xff\xfe{}",
      R"({"version": 1, "targets": {"codex": {"file_hashes": {"/a": "\xc3\x28"}}}})",
      "[1, 2]",
      R"("a string")",
      R"({"version": 1, "targets": []})",
      R"({"version": 1, "targets": {"codex": 5}})",
      R"({"version": 1, "targets": {"codex": {"file_hashes": []}}})",
      R"({"version": 1, "targets": {"codex": {"file_hashes": {"/a": 1}}}})",
      R"({"version": 2, "targets": {}, "accounts": []})",
      R"({"version": 2, "targets": {}, "accounts": {"work": []}})",
      R"({"version": 2, "targets": {}, "accounts": {"work": {"targets": {"codex": "x"}}}})",
      R"({"version": 0, "targets": {}})",
  };
  for (const char* bad : cases) {
    INFO(bad);
    StoreFixture f;
    hs::test::spit(f.state_path(), bad);
    auto s = f.open();
    CHECK(json::serialize(s->document()) == R"({"version":1,"targets":{}})");
    const std::string backup = f.state_path() + ".bak." + hs::stamp_local(f.now);
    CHECK(hs::test::slurp(backup) == bad);
    CHECK_FALSE(hs::test::exists(f.state_path()));
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find(backup) != std::string::npos);
  }
}

TEST_CASE("two backups in the same second do not collide", "[store][load]") {
  StoreFixture f;
  const std::string stamp = f.state_path() + ".bak." + hs::stamp_local(f.now);
  for (int i = 0; i < 3; ++i) {
    hs::test::spit(f.state_path(), "corrupt " + std::to_string(i));
    f.open();
  }
  CHECK(hs::test::slurp(stamp) == "corrupt 0");
  CHECK(hs::test::slurp(stamp + ".1") == "corrupt 1");
  CHECK(hs::test::slurp(stamp + ".2") == "corrupt 2");
}

TEST_CASE("a version written as an integral number is that integer", "[store][load]") {
  StoreFixture f;
  hs::test::spit(f.state_path(), R"({"version": 2.0, "targets": {}})");
  auto s = f.open();
  CHECK(f.warnings.empty());
  CHECK(s->document().at("version").as_int64() == 2);
}

TEST_CASE("a version that is a number but no integer is the legacy cc2all format", "[store][load]") {
  for (const char* text : {R"({"version": 1.5})", R"({"version": -0.5})", R"({"version": -1e400})"}) {
    CAPTURE(text);
    StoreFixture f;
    hs::test::spit(f.state_path(), text);
    auto s = f.open();
    CHECK(s->document().at("version").as_int64() == 1);
    CHECK(s->document().contains("migrated_from"));
  }
}

TEST_CASE("a version that is an integer below 1, however large, is unreadable", "[store][load]") {
  for (const char* text : {R"({"version": -1, "targets": {}})", R"({"version": -300000000000000000000})"}) {
    CAPTURE(text);
    StoreFixture f;
    hs::test::spit(f.state_path(), text);
    auto s = f.open();
    CHECK(json::serialize(s->document()) == R"({"version":1,"targets":{}})");
    CHECK(hs::test::list(f.dir.path()).find("state.json.bak.") != std::string::npos);
  }
}

TEST_CASE("a state.json that is not a regular file is refused without blocking", "[store][load]") {
  StoreFixture f;
  REQUIRE(::mkfifo(f.state_path().c_str(), 0600) == 0);
  auto s = hs::daemon::store::StateStore::open(f.options());  // would block forever on open(2)
  REQUIRE_FALSE(s);
  CHECK(s.error().code == hs::Errc::not_regular);
  CHECK(s.error().message() == "open " + f.state_path() + ": is a FIFO, not a regular file");
  struct stat st {};
  REQUIRE(::lstat(f.state_path().c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));

  StoreFixture g;
  REQUIRE(::mkdir(g.state_path().c_str(), 0700) == 0);
  auto t = hs::daemon::store::StateStore::open(g.options());
  REQUIRE_FALSE(t);
  CHECK(t.error().code == hs::Errc::not_regular);
  CHECK(t.error().message().find("is a directory") != std::string::npos);
}

TEST_CASE("a symlinked state.json is read through and replaced by a regular file", "[store][load]") {
  StoreFixture f;
  const std::string real = f.dir / "elsewhere.json";
  hs::test::spit(real, R"({"version": 1, "targets": {"old": {}}})");
  REQUIRE(::symlink(real.c_str(), f.state_path().c_str()) == 0);
  auto s = f.open();
  CHECK(s->document().at("targets").as_object().contains("old"));
  REQUIRE(s->record(record_args("codex", {})));
  struct stat st {};
  REQUIRE(::lstat(f.state_path().c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(hs::test::slurp(real) == R"({"version": 1, "targets": {"old": {}}})");
}

TEST_CASE("a schema version above 2 is refused and left untouched", "[store][load]") {
  // However the number is written: beyond 64 bits Boost.JSON reads it as a
  // double (1e400 as infinity), and such a file was once taken for cc2all.
  for (const char* text : {R"({"version": 3, "targets": {}, "new": true})",
                           R"({"version": 18446744073709551615})",
                           R"({"version": 300000000000000000000, "targets": {}})",
                           R"({"version": 3.0})", R"({"version": 2.5})", R"({"version": 1e400})"}) {
    CAPTURE(text);
    StoreFixture f;
    hs::test::spit(f.state_path(), text);
    auto s = hs::daemon::store::StateStore::open(f.options());
    REQUIRE_FALSE(s);
    CHECK(s.error().code == hs::Errc::unsupported);
    CHECK(s.error().path == f.state_path());
    CHECK(s.error().message().find("version") != std::string::npos);
    CHECK(hs::test::slurp(f.state_path()) == text);
    CHECK(hs::test::list(f.dir.path()) == "harnesssyncd.lock\nstate.json\n");
  }
}
