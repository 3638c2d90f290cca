// Layout 2 (STATE.md "Layout 2") and Python's printing of values for the
// plugin drift reasons. The expected strings of python_str were made with
// /usr/bin/python3: str(json.loads(text)).
#include <boost/json.hpp>

#include "common/clock.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/python_str.hpp"
#include "tests/catch.hpp"
#include "tests/support/fsize_limit.hpp"
#include "tests/support/store_fixture.hpp"

namespace json = boost::json;
using hs::daemon::store::python_equal;
using hs::daemon::store::python_str;
using hs::daemon::store::StateStore;
using hs::test::record_args;
using hs::test::StoreFixture;

namespace {

std::unique_ptr<StateStore> open_layout(StoreFixture& f, int schema) {
  auto o = f.options();
  o.schema = schema;
  auto s = StateStore::open(o, &f.warnings);
  if (!s) throw std::runtime_error("open store: " + s.error().message());
  return std::move(*s);
}

}  // namespace

TEST_CASE("python_str writes what Python's str() writes", "[python_str]") {
  struct Case {
    const char* json_text;
    const char* python;
  } cases[] = {
    {R"~(null)~", R"~(None)~"},
    {R"~(true)~", R"~(True)~"},
    {R"~(false)~", R"~(False)~"},
    {R"~(3)~", R"~(3)~"},
    {R"~(-7)~", R"~(-7)~"},
    {R"~(0)~", R"~(0)~"},
    {R"~(-0)~", R"~(0)~"},
    {R"~(9223372036854775807)~", R"~(9223372036854775807)~"},
    {R"~(18446744073709551615)~", R"~(18446744073709551615)~"},
    {R"~(1.0)~", R"~(1.0)~"},
    {R"~(0.1)~", R"~(0.1)~"},
    {R"~(1e16)~", R"~(1e+16)~"},
    {R"~(1e15)~", R"~(1000000000000000.0)~"},
    {R"~(1.5e-7)~", R"~(1.5e-07)~"},
    {R"~(0.0001)~", R"~(0.0001)~"},
    {R"~(0.00001)~", R"~(1e-05)~"},
    {R"~(-0.0)~", R"~(-0.0)~"},
    {R"~(123.456)~", R"~(123.456)~"},
    {R"~(2.5)~", R"~(2.5)~"},
    {R"~(1e22)~", R"~(1e+22)~"},
    {R"~(5e-324)~", R"~(5e-324)~"},
    {R"~(1.7976931348623157e308)~", R"~(1.7976931348623157e+308)~"},
    {R"~(100.0)~", R"~(100.0)~"},
    {R"~(1E2)~", R"~(100.0)~"},
    {R"~(1e999)~", R"~(inf)~"},
    {R"~(-1e999)~", R"~(-inf)~"},
    {R"~(12345678901234567.0)~", R"~(1.2345678901234568e+16)~"},
    {R"~(0.30000000000000004)~", R"~(0.30000000000000004)~"},
    {R"~("1.2")~", R"~(1.2)~"},
    {R"~("")~", R"~()~"},
    {R"~("it's")~", R"~(it's)~"},
    {R"~([1, 2.0, "a", null, true])~", R"~([1, 2.0, 'a', None, True])~"},
    {R"~({"a": 1, "b": [null]})~", R"~({'a': 1, 'b': [None]})~"},
    {R"~(["it's"])~", R"~(["it's"])~"},
    {R"~(["a\"b"])~", R"~(['a"b'])~"},
    {R"~(["it's \"x\""])~", R"~(['it\'s "x"'])~"},
    {R"~(["tab\tnl\n\r\u0001\u007f"])~", R"~(['tab\tnl\n\r\x01\x7f'])~"},
    {R"~(["\u00e9\u00a0\u0085\u00ad\u200b\u2028\ud83d\ude00\ue000\u3000\ufeff\udb40\udc01"])~", R"~(['é\xa0\x85\xad\u200b\u2028😀\ue000\u3000\ufeff\U000e0001'])~"},
    {R"~(["back\\slash"])~", R"~(['back\\slash'])~"},
    {R"~({})~", R"~({})~"},
    {R"~([])~", R"~([])~"},
  };
  for (const auto& c : cases) {
    INFO(c.json_text);
    CHECK(python_str(json::parse(c.json_text)) == c.python);
  }
}

TEST_CASE("python_equal compares as Python's == does", "[python_str]") {
  struct Case {
    const char* a;
    const char* b;
    bool equal;
  } cases[] = {
      {"1", "1.0", true},          {"1", "true", true},           {"0", "false", true},
      {"1.0", "true", true},       {"2", "2.5", false},           {"\"1\"", "1", false},
      {"null", "null", true},      {"null", "0", false},          {"\"1.0\"", "1.0", false},
      {"9007199254740993", "9007199254740992.0", false},          {"9007199254740992", "9007199254740992.0", true},
      {"18446744073709551615", "18446744073709551615", true},     {"18446744073709551615", "-1", false},
      {"9223372036854775808", "9223372036854775808.0", true},     {"1e999", "1e999", true},
      {"[1, 2]", "[1.0, 2]", true}, {"[1, 2]", "[2, 1]", false},   {"{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1.0}", true},
      {"{\"a\": 1}", "{\"a\": 1, \"b\": 2}", false},              {"{}", "[]", false},
  };
  for (const auto& c : cases) {
    INFO(c.a << " == " << c.b);
    CHECK(python_equal(json::parse(c.a), json::parse(c.b)) == c.equal);
    CHECK(python_equal(json::parse(c.b), json::parse(c.a)) == c.equal);
  }
}

TEST_CASE("the state file writes floats as Python's json.dump does", "[python_str][store]") {
  CHECK(hs::daemon::store::to_state_text(json::parse("[1.0, 50.5, 1e16, 1.5e-7, 3]")) ==
        "[\n  1.0,\n  50.5,\n  1e+16,\n  1.5e-07,\n  3\n]\n");
}

TEST_CASE("layout 2: the fresh documents", "[layout]") {
  SECTION("missing file: nothing written until the first change") {
    StoreFixture f;
    auto s = open_layout(f, 2);
    CHECK(json::serialize(s->document()) == R"({"version":2,"targets":{},"accounts":{}})");
    CHECK(s->layout() == 2);
    CHECK_FALSE(hs::test::exists(f.state_path()));
    REQUIRE(s->record(record_args("codex", {})));
    const json::value disk = f.disk();
    CHECK(disk.at("version") == 2);
    CHECK(disk.at("accounts") == json::object());
  }
  SECTION("an unreadable file is backed up") {
    StoreFixture f;
    hs::test::spit(f.state_path(), "{not json");
    auto s = open_layout(f, 2);
    CHECK(json::serialize(s->document()) == R"({"version":2,"targets":{},"accounts":{}})");
    CHECK(hs::test::slurp(f.state_path() + ".bak." + hs::stamp_local(f.now)) == "{not json");
  }
  SECTION("the cc2all wrapper") {
    StoreFixture f;
    const std::string old = R"({"last_sync": "2024-01-01T12:00:00", "targets": {"old": true}})";
    hs::test::spit(f.state_path(), old);
    auto s = open_layout(f, 2);
    CHECK(json::serialize(s->document()) ==
          R"({"version":2,"targets":{},"accounts":{},"migrated_from":)" + json::serialize(json::parse(old)) + "}");
    CHECK(hs::test::slurp(f.state_path()) == old);  // held in memory, like layout 1
  }
}

TEST_CASE("layout 2: a version 1 file is moved and written at once", "[layout]") {
  StoreFixture f;
  const std::string v1 = R"({"version": 1, "last_sync": "2024-01-01T12:00:00", "targets": {"codex": {"last_sync": "2024-01-01T12:00:00", "status": "success", "file_hashes": {"a.md": "hash1"}}}, "extra": [1]})";
  hs::test::spit(f.state_path(), v1);
  auto s = open_layout(f, 2);
  const json::value want = json::parse(
      R"({"version": 2, "last_sync": "2024-01-01T12:00:00",
          "targets": {"codex": {"last_sync": "2024-01-01T12:00:00", "status": "success", "file_hashes": {"a.md": "hash1"}}},
          "extra": [1],
          "accounts": {"default": {"last_sync": "2024-01-01T12:00:00",
                                   "targets": {"codex": {"last_sync": "2024-01-01T12:00:00", "status": "success", "file_hashes": {"a.md": "hash1"}}}}}})");
  // Byte for byte what the store writes, before any change was asked for.
  CHECK(hs::test::slurp(f.state_path()) == hs::daemon::store::to_state_text(want));
  CHECK(json::value(s->document()) == want);
  CHECK_FALSE(s->pending());
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find("version 2") != std::string::npos);
}

TEST_CASE("layout 2: a version 1 file without targets gets empty accounts", "[layout]") {
  for (const char* v1 : {R"({"version": 1, "targets": {}})", R"({"version": 1})"}) {
    INFO(v1);
    StoreFixture f;
    hs::test::spit(f.state_path(), v1);
    auto s = open_layout(f, 2);
    json::value want = json::parse(v1);
    want.as_object()["version"] = 2;
    want.as_object()["accounts"] = json::object();
    CHECK(f.disk() == want);
  }
}

TEST_CASE("layout 2: a failed move leaves the file alone and fails the open", "[layout]") {
  StoreFixture f;
  const std::string v1 = R"({"version": 1, "targets": {"codex": {"file_hashes": {}}}})";
  hs::test::spit(f.state_path(), v1);
  {
    hs::test::FsizeLimit limit(8);
    auto o = f.options();
    o.schema = 2;
    auto s = StateStore::open(o);
    REQUIRE_FALSE(s);
  }
  CHECK(hs::test::slurp(f.state_path()) == v1);
}

TEST_CASE("layout 1 follows a version 2 file and keeps it version 2 with accounts", "[layout]") {
  StoreFixture f;
  hs::test::spit(f.state_path(), R"({"version": 2, "targets": {}})");
  auto s = open_layout(f, 1);
  CHECK(s->layout() == 2);
  CHECK(hs::test::slurp(f.state_path()) == R"({"version": 2, "targets": {}})");  // no write at load
  REQUIRE(s->record(record_args("codex", {})));
  CHECK(f.disk().at("version") == 2);
  CHECK(f.disk().at("accounts") == json::object());
}

TEST_CASE("layout 1 stays version 1 until a record into an account", "[layout]") {
  StoreFixture f;
  auto s = open_layout(f, 1);
  CHECK(s->layout() == 1);
  REQUIRE(s->record(record_args("codex", {})));
  CHECK(f.disk().at("version") == 1);
  CHECK_FALSE(f.disk().as_object().contains("accounts"));
  REQUIRE(s->record(record_args("codex", {}, 1, 0, 0, "work")));
  CHECK(f.disk().at("version") == 2);
  CHECK(s->layout() == 2);
  CHECK(s->account_names() == std::vector<std::string>{"work"});
}

TEST_CASE("layout 2 makes a change to a version 2 file without accounts add them", "[layout]") {
  StoreFixture f;
  hs::test::spit(f.state_path(), R"({"version": 2, "targets": {}, "plugins": {}})");
  auto s = open_layout(f, 2);
  REQUIRE(s->apply_dry_run(true));
  REQUIRE(s->commit());
  CHECK(f.disk() == json::parse(R"({"version": 2, "targets": {}, "plugins": {}, "accounts": {}, "global_dry_run": true})"));
}
