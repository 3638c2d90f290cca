// Other writers (docs/STATE.md, section 7): the store's identity check before
// each write, and reloading what another process wrote.
#include <stdio.h>

#include <fstream>

#include "common/fs.hpp"
#include "tests/catch.hpp"
#include "tests/support/store_fixture.hpp"

namespace json = boost::json;
using hs::daemon::store::TargetRef;
using hs::test::record_args;
using hs::test::StoreFixture;

namespace {

// Another process's save: a temp file in the dir, renamed over state.json.
void external_save(StoreFixture& f, const std::string& text) {
  const std::string tmp = f.dir / "tmpabcdefgh.tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
  }
  REQUIRE(::rename(tmp.c_str(), f.state_path().c_str()) == 0);
}

bool has_target(const json::value& doc, const char* t) { return doc.at("targets").as_object().contains(t); }

}  // namespace

TEST_CASE("a write never replaces a state.json another process wrote", "[store][writers]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("mine-before", {})));
  external_save(f, R"({"version": 1, "targets": {"theirs": {"status": "success"}}})");
  REQUIRE(s->changed_on_disk().value());
  REQUIRE(s->record(record_args("mine", {})));
  auto disk = f.disk();
  CHECK(has_target(disk, "theirs"));
  CHECK(has_target(disk, "mine"));
  // The other writer's document replaced ours: what it dropped stays dropped.
  CHECK_FALSE(has_target(disk, "mine-before"));
  CHECK(s->find_entry(TargetRef{"theirs", std::nullopt}) != nullptr);
  CHECK_FALSE(s->changed_on_disk().value());
}

TEST_CASE("write() stops before the rename when the file is not the one expected", "[store][writers]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("mine", {})));
  external_save(f, R"({"version": 1, "targets": {}})");
  REQUIRE(s->apply_record(record_args("next", {})));
  hs::daemon::store::WriteInfo info;
  auto st = hs::daemon::store::StateStore::write(s->begin_commit(), &info);
  CHECK_FALSE(st);
  CHECK(info.changed);
  CHECK_FALSE(info.placed);
  REQUIRE(s->end_commit(st, info));
  CHECK(f.disk().at("targets").as_object().empty());  // untouched
  auto names = hs::fs::list_dir(f.dir.path());
  REQUIRE(names);
  for (const auto& n : *names) CHECK(n.find("harnesssyncd-") == std::string::npos);
}

TEST_CASE("an unreadable external write is left as it is, and changes are refused", "[store][writers]") {
  // docs/STATE.md, "Saves in place": at run time its writer may not be done.
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("mine", {})));
  external_save(f, "{not json");
  auto r = s->record(record_args("after", {}));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == hs::Errc::corrupt);
  CHECK(r.error().path == f.state_path());
  CHECK(hs::fs::read_file(f.state_path()).value() == "{not json");
  CHECK(hs::test::list(f.dir.path()) == "harnesssyncd.lock\nstate.json\n");
  // Memory keeps the last good state; once the file parses, it is taken in.
  CHECK(s->find_entry(TargetRef{"mine", std::nullopt}) != nullptr);
  external_save(f, R"({"version": 1, "targets": {"theirs": {"status": "success"}}})");
  REQUIRE(s->record(record_args("after", {})));
  auto disk = f.disk();
  CHECK(has_target(disk, "theirs"));
  CHECK(has_target(disk, "after"));
}

TEST_CASE("an external write of a newer version is never written over", "[store][writers]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("mine", {})));
  const std::string newer = R"({"version": 3, "targets": {}})";
  external_save(f, newer);
  for (int i = 0; i < 2; ++i) {
    auto r = s->record(record_args("later", {}));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == hs::Errc::unsupported);
    CHECK(hs::fs::read_file(f.state_path()).value() == newer);
  }
  // Memory keeps the last state it had.
  CHECK(s->find_entry(TargetRef{"mine", std::nullopt}) != nullptr);
}

TEST_CASE("in layout 2 a version 1 file written by another process is moved", "[store][writers]") {
  StoreFixture f;
  auto o = f.options();
  o.schema = 2;
  auto s = hs::daemon::store::StateStore::open(o).value();
  REQUIRE(s->record(record_args("mine", {})));
  external_save(f, R"({"version": 1, "targets": {"codex": {"status": "success"}}})");
  std::vector<std::string> warnings;
  REQUIRE(s->reload(&warnings));
  auto disk = f.disk();
  CHECK(disk.at("version") == 2);
  CHECK(disk.at("accounts").at("default").at("targets").as_object().contains("codex"));
  CHECK_FALSE(s->changed_on_disk().value());
}

TEST_CASE("the check (no exchange) stops before its rename too, and notes the file it wrote by fstat",
          "[store][writers]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("mine", {})));
  REQUIRE(s->apply_record(record_args("next", {})));
  hs::daemon::store::PendingWrite w = s->begin_commit();
  w.exchange = false;  // as on a file system that refuses RENAME_EXCHANGE
  hs::daemon::store::WriteInfo info;
  auto st = hs::daemon::store::StateStore::write(w, &info);
  REQUIRE(st);
  CHECK(info.placed);
  REQUIRE(info.written);
  REQUIRE(s->end_commit(st, info));
  // The identity noted is the file now at state.json.
  CHECK(s->disk_identity() == hs::stat_if_exists(f.state_path()).value());
  CHECK_FALSE(s->changed_on_disk().value());

  external_save(f, R"({"version": 1, "targets": {}})");
  REQUIRE(s->apply_record(record_args("later", {})));
  w = s->begin_commit();
  w.exchange = false;
  st = hs::daemon::store::StateStore::write(w, &info);
  CHECK_FALSE(st);
  CHECK(info.changed);
  CHECK_FALSE(info.placed);
  REQUIRE(s->end_commit(st, info));
  CHECK(f.disk().at("targets").as_object().empty());  // untouched
}
