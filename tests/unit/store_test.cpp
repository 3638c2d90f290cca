// The state store against docs/STATE.md: the seed StateManager's behaviours and
// the daemon's stricter guarantees.
#include <sys/stat.h>

#include <cmath>
#include <unistd.h>

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
using hs::test::record_args;
using hs::test::StoreFixture;

namespace {

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

json::object hashes(std::initializer_list<std::pair<std::string, std::string>> kv) {
  json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) out.emplace_back(e.as_string());
  return out;
}

using Paths = std::vector<std::string>;

}  // namespace

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

TEST_CASE("stray temp files from interrupted writes are removed at start", "[store][load]") {
  StoreFixture f;
  hs::test::spit(f.dir / "state.json.tmp.AbC123", "half a wri");
  hs::test::spit(f.dir / "tmpab_cd123.tmp", "python's");
  hs::test::spit(f.dir / "tmpnotours.txt", "keep");
  hs::test::spit(f.dir / "notes.tmp", "keep");
  auto s = f.open();
  CHECK(hs::test::list(f.dir.path()) == "harnesssyncd.lock\nnotes.tmp\ntmpnotours.txt\n");
  CHECK(f.warnings.size() == 2);
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
