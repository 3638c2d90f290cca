// The state store's other changes (docs/STATE.md): drift against the
// caller's hashes and against the disk, layout 2 and accounts, accept and
// the cc2all migration.
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

TEST_CASE("drift from caller hashes: changed, added, removed, in the seed's order", "[store][drift]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", hashes({{"/a", kHashA}, {"/b", kHashA}, {"/c", kHashA}}))));

  json::object current = hashes({{"/new", kHashB}, {"/b", kHashB}, {"/a", kHashA.substr(0, 16)}});
  auto d = s->drift({"codex", {}}, current);
  REQUIRE(d);
  CHECK(d->tracked);
  CHECK(d->changed == Paths{"/b"});
  CHECK(d->added == Paths{"/new"});
  CHECK(d->removed == Paths{"/c"});
  CHECK(d->drifted == Paths{"/new", "/b", "/c"});
  CHECK(d->errors.empty());

  auto none = s->drift({"codex", {}}, hashes({{"/a", kHashA}, {"/b", kHashA}, {"/c", kHashA}}));
  REQUIRE(none);
  CHECK(none->drifted.empty());

  auto untracked = s->drift({"gemini", {}}, hashes({{"/x", kHashA}, {"/y", kHashB}}));
  REQUIRE(untracked);
  CHECK_FALSE(untracked->tracked);
  CHECK(untracked->added == Paths{"/x", "/y"});
  CHECK(untracked->drifted == Paths{"/x", "/y"});

  auto j = d->to_json("codex");
  CHECK(j.at("target").as_string() == "codex");
  CHECK(strings(j.at("drifted")) == Paths{"/new", "/b", "/c"});
  CHECK(j.at("errors").as_array().empty());

  auto bad = s->drift({"codex", {}}, json::object{{"/a", 5}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "current_hashes");
  auto bad_name = s->drift({"no/slash", {}}, {});
  REQUIRE_FALSE(bad_name);
  CHECK(bad_name.error().field == "target");
}

TEST_CASE("drift on disk hashes the stored paths itself", "[store][drift]") {
  StoreFixture f;
  const std::string same = f.dir / "same", changed = f.dir / "changed", gone = f.dir / "gone",
                    never = f.dir / "never", appeared = f.dir / "appeared", unreadable = f.dir / "adir",
                    prefix = f.dir / "prefix";
  hs::test::spit(same, "same");
  hs::test::spit(changed, "before");
  hs::test::spit(prefix, "prefix");
  REQUIRE(::mkdir(unreadable.c_str(), 0700) == 0);
  auto s = f.open();
  REQUIRE(s->record(record_args(
      "codex", hashes({{same, hs::sha256_hex("same")},
                       {changed, hs::sha256_hex("before")},
                       {gone, hs::sha256_hex("gone")},
                       {never, ""},
                       {appeared, ""},
                       {unreadable, kHashA},
                       {prefix, hs::sha256_hex("prefix").substr(0, 16)}}))));
  hs::test::spit(changed, "after");
  hs::test::spit(appeared, "now here");

  auto d = s->drift_on_disk({"codex", {}});
  REQUIRE(d);
  CHECK(d->tracked);
  CHECK(d->changed == Paths{changed, appeared});
  CHECK(d->removed == Paths{gone});
  CHECK(d->added.empty());
  CHECK(d->drifted == Paths{changed, appeared, gone});
  REQUIRE(d->errors.size() == 1);
  CHECK(d->errors[0].first == unreadable);
  CHECK(d->errors[0].second == "not a regular file");

  auto untracked = s->drift_on_disk({"gemini", {}});
  REQUIRE(untracked);
  CHECK_FALSE(untracked->tracked);
  CHECK(untracked->drifted.empty());
}

TEST_CASE("schema v2 round-trips with its unknown members intact", "[store][v2]") {
  StoreFixture f;
  const std::string v2 = R"({
  "version": 2,
  "last_sync": "2026-01-01T00:00:00.000001",
  "accounts": {
    "work": {
      "targets": {
        "codex": {"last_sync": "x", "status": "success", "file_hashes": {}, "extra_in_entry": [1, 2]}
      },
      "last_sync": "2026-01-01T00:00:00.000001",
      "plugins": {"p": {"version": "1.0"}}
    }
  },
  "targets": {"gemini": {"status": "success", "future_field": {"deep": {"er": null}}}},
  "plugins": {"x": 1},
  "health_score_history": [0.5, 1.25],
  "global_dry_run": false
})";
  hs::test::spit(f.state_path(), v2);
  const json::value original = json::parse(v2);
  {
    auto s = f.open();
    REQUIRE(s->record(record_args("opencode", {})));
    REQUIRE(s->record(record_args("cursor", {}, 1, 0, 0, "work")));
  }
  auto disk = f.disk();
  CHECK(disk.at("version").as_int64() == 2);
  CHECK(disk.at("plugins") == original.at("plugins"));
  CHECK(disk.at("health_score_history") == original.at("health_score_history"));
  CHECK(disk.at("global_dry_run") == original.at("global_dry_run"));
  CHECK(disk.at("targets").at("gemini") == original.at("targets").at("gemini"));
  const auto& work = disk.at("accounts").at("work");
  CHECK(work.at("plugins") == original.at("accounts").at("work").at("plugins"));
  CHECK(work.at("targets").at("codex") == original.at("accounts").at("work").at("targets").at("codex"));
  CHECK(work.at("targets").at("cursor").at("status").as_string() == "success");
  CHECK(work.at("last_sync").as_string() == hs::iso_local(f.now));

  // A reload reads the same document back.
  auto s = f.open();
  CHECK(json::value(s->document()) == disk);
}

TEST_CASE("recording into an account turns version 1 into version 2", "[store][v2]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", {})));
  CHECK(f.disk().at("version").as_int64() == 1);
  TargetRef ref{"codex", "personal"};
  REQUIRE(s->record(record_args("codex", hashes({{"/p", kHashA}}), 1, 0, 0, "personal")));
  auto disk = f.disk();
  CHECK(disk.at("version").as_int64() == 2);
  CHECK(disk.at("accounts").at("personal").at("targets").at("codex").at("file_hashes").at("/p").as_string() == kHashA);
  CHECK(disk.at("accounts").at("personal").at("last_sync").as_string() == hs::iso_local(f.now));
  // The account's entry and the top-level entry are different targets.
  CHECK(s->find_entry(ref)->at("file_hashes").as_object().size() == 1);
  CHECK(s->find_entry({"codex", {}})->at("file_hashes").as_object().empty());
  auto d = s->drift(ref, hashes({{"/p", kHashB}}));
  REQUIRE(d);
  CHECK(d->changed == Paths{"/p"});
  REQUIRE(*s->clear(ref));
  CHECK(s->find_entry(ref) == nullptr);
  CHECK(s->find_entry({"codex", {}}) != nullptr);
}

TEST_CASE("accept takes the files on disk as the new baseline", "[store][accept]") {
  StoreFixture f;
  const std::string full = f.dir / "full", cut = f.dir / "cut", gone = f.dir / "gone",
                    fresh = f.dir / "fresh";
  hs::test::spit(full, "v1");
  hs::test::spit(cut, "v1");
  auto s = f.open();
  REQUIRE(s->record(record_args("codex",
                                hashes({{full, hs::sha256_hex("v1")},
                                        {cut, hs::sha256_hex("v1").substr(0, 16)},
                                        {gone, kHashA}}),
                                4, 1, 1)));
  const json::object before = *s->find_entry({"codex", {}});
  hs::test::spit(full, "v2");
  hs::test::spit(cut, "v2");
  hs::test::spit(fresh, "new");

  auto r = s->accept({"codex", {}}, {full, cut, gone, fresh, f.dir / "never-existed"});
  REQUIRE(r);
  CHECK(r->updated == Paths{full, cut, fresh});
  CHECK(r->removed == Paths{gone});
  const json::value disk = f.disk();
  const auto& entry = disk.at("targets").at("codex");
  CHECK(entry.at("file_hashes").at(full).as_string() == hs::sha256_hex("v2"));
  CHECK(entry.at("file_hashes").at(cut).as_string() == hs::sha256_hex("v2").substr(0, 16));
  CHECK(entry.at("file_hashes").at(fresh).as_string() == hs::sha256_hex("new"));
  CHECK_FALSE(entry.at("file_hashes").as_object().contains(gone));
  for (const char* kept : {"last_sync", "status", "items_synced", "items_skipped", "items_failed", "scope"}) {
    CHECK(entry.at(kept) == before.at(kept));
  }
  CHECK(s->drift_on_disk({"codex", {}})->drifted.empty());
}

TEST_CASE("accept refuses an untracked target and an unreadable file, applying nothing", "[store][accept]") {
  StoreFixture f;
  hs::test::spit(f.dir / "ok", "x");
  REQUIRE(::mkdir((f.dir / "adir").c_str(), 0700) == 0);
  auto s = f.open();
  auto untracked = s->accept({"codex", {}}, {f.dir / "ok"});
  REQUIRE_FALSE(untracked);
  CHECK(untracked.error().field == "target");

  REQUIRE(s->record(record_args("codex", hashes({{f.dir / "ok", kHashA}}))));
  const std::string before = hs::test::slurp(f.state_path());
  auto unreadable = s->accept({"codex", {}}, {f.dir / "ok", f.dir / "adir"});
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().field == "paths");
  CHECK(unreadable.error().message().find(f.dir / "adir") != std::string::npos);
  CHECK(s->find_entry({"codex", {}})->at("file_hashes").at(f.dir / "ok").as_string() == kHashA);
  CHECK(hs::test::slurp(f.state_path()) == before);
}

TEST_CASE("migrate_cc2all copies last_sync when the old state exists", "[store][migrate]") {
  StoreFixture f;
  auto s = f.open();
  auto none = s->migrate_cc2all(std::nullopt);
  REQUIRE(none);
  CHECK_FALSE(none->migrated);
  CHECK_FALSE(none->last_sync);
  CHECK_FALSE(hs::test::exists(f.state_path()));

  REQUIRE(hs::fs::make_dirs(f.dir / "cc2all", 0700));
  const std::string old = R"({"last_sync": "2025-03-04T05:06:07.000008", "other": 1})";
  hs::test::spit(f.dir / "cc2all/sync-state.json", old);
  auto yes = s->migrate_cc2all(std::nullopt);
  REQUIRE(yes);
  CHECK(yes->migrated);
  CHECK(*yes->last_sync == "2025-03-04T05:06:07.000008");
  auto disk = f.disk();
  CHECK(disk.at("last_sync").as_string() == "2025-03-04T05:06:07.000008");
  CHECK(disk.at("migrated_from_cc2all").as_string() == hs::iso_local(f.now));
  CHECK(hs::test::slurp(f.dir / "cc2all/sync-state.json") == old);
  CHECK(json::serialize(yes->to_json()) == R"({"migrated":true,"last_sync":"2025-03-04T05:06:07.000008"})");

  // An explicit directory wins over the default.
  hs::test::TempDir other;
  hs::test::spit(other / "sync-state.json", "{}");
  auto explicit_dir = s->migrate_cc2all(other.path());
  REQUIRE(explicit_dir);
  CHECK(explicit_dir->migrated);
  CHECK_FALSE(explicit_dir->last_sync);
}
