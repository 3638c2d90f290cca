// HarnessSync's other sections in the store (STATE.md): accounts, plugins
// and their drift, the dry-run flag, the health-score history.
#include <boost/json.hpp>

#include "common/clock.hpp"
#include "tests/catch.hpp"
#include "tests/support/fsize_limit.hpp"
#include "tests/support/store_fixture.hpp"

namespace json = boost::json;
using hs::daemon::store::HealthArgs;
using hs::test::record_args;
using hs::test::StoreFixture;

namespace {

json::object obj(const char* text) { return json::parse(text).as_object(); }

}  // namespace

TEST_CASE("accounts: found, listed sorted, null when unknown", "[sections]") {
  StoreFixture f;
  auto s = f.open();
  CHECK(s->account_names().empty());
  CHECK(s->find_account("work") == nullptr);
  for (const char* a : {"work", "Personal", "alpha"}) REQUIRE(s->record(record_args("codex", {}, 1, 0, 0, a)));
  CHECK(s->account_names() == std::vector<std::string>{"Personal", "alpha", "work"});
  const json::object* work = s->find_account("work");
  REQUIRE(work != nullptr);
  CHECK(work->at("last_sync").as_string() == hs::iso_local(f.now));
  CHECK(work->at("targets").as_object().contains("codex"));
}

TEST_CASE("plugins.record replaces the whole section and nothing else", "[sections]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", {})));
  const json::value before = f.disk();
  CHECK(s->plugins(std::nullopt).empty());
  auto n = s->apply_plugins(obj(R"({"a": {"version": "1.0"}, "b": {}})"), std::nullopt);
  REQUIRE(n);
  CHECK(*n == 2);
  REQUIRE(s->commit());
  n = s->apply_plugins(obj(R"({"c": {"version": "2.0"}})"), std::nullopt);
  REQUIRE(s->commit());
  json::value want = before;
  want.as_object()["plugins"] = obj(R"({"c": {"version": "2.0"}})");
  CHECK(f.disk() == want);  // no last_sync, no other member changed
  CHECK(s->plugins(std::nullopt) == obj(R"({"c": {"version": "2.0"}})"));

  SECTION("per account, which makes the document version 2") {
    REQUIRE(s->apply_plugins(obj(R"({"p": {"version": 1}})"), "work"));
    REQUIRE(s->commit());
    CHECK(f.disk().at("version") == 2);
    CHECK(f.disk().at("accounts") == json::parse(R"({"work": {"plugins": {"p": {"version": 1}}}})"));
    CHECK(s->plugins("work") == obj(R"({"p": {"version": 1}})"));
    CHECK(s->plugins("nobody").empty());
  }
  SECTION("bad values change nothing") {
    auto bad = s->apply_plugins(obj(R"({"x": 1})"), std::nullopt);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().field == "plugins");
    CHECK_FALSE(s->apply_plugins(obj("{}"), "no/slash"));
    CHECK_FALSE(s->pending());
  }
}

TEST_CASE("plugin drift: HarnessSync's reasons, with Python's printing", "[sections]") {
  StoreFixture f;
  auto s = f.open();
  CHECK(*s->plugin_drift(obj(R"({"new": {}})"), std::nullopt) == obj(R"({"new": "added"})"));
  REQUIRE(s->apply_plugins(obj(R"({
      "same": {"version": "1.0", "mcp_count": 2}, "gone": {"version": "1.0"},
      "ver": {"version": "1.0", "mcp_count": 2}, "count": {"version": "1.0", "mcp_count": 2},
      "none_ver": {"mcp_count": 1}, "float_ver": {"version": 1.0}, "int_count": {"version": "x", "mcp_count": 3},
      "none_count": {"version": "x"}, "num_eq": {"version": 1, "mcp_count": 2.0}, "list": {"version": [1, "a"]}})"),
                           std::nullopt));
  REQUIRE(s->commit());
  auto d = s->plugin_drift(obj(R"({
      "same": {"version": "1.0", "mcp_count": 2}, "ver": {"version": "2.0", "mcp_count": 5},
      "count": {"version": "1.0", "mcp_count": 5}, "none_ver": {"version": "1.2", "mcp_count": 1},
      "float_ver": {"version": 2.5}, "int_count": {"version": "x", "mcp_count": 4.0},
      "none_count": {"version": "x", "mcp_count": 7}, "num_eq": {"version": 1.0, "mcp_count": 2},
      "list": {"version": {"k": null}}, "fresh": {"version": "0.1"}})"),
                           std::nullopt);
  REQUIRE(d);
  CHECK(*d == obj(R"({
      "gone": "removed", "ver": "version_changed: 1.0 -> 2.0", "count": "mcp_count_changed: 2 -> 5",
      "none_ver": "version_changed: None -> 1.2", "float_ver": "version_changed: 1.0 -> 2.5",
      "int_count": "mcp_count_changed: 3 -> 4.0", "none_count": "mcp_count_changed: None -> 7",
      "list": "version_changed: [1, 'a'] -> {'k': None}", "fresh": "added"})"));
  // Removed names first, then the current ones in the caller's order.
  std::vector<std::string> order;
  for (const auto& kv : *d) order.emplace_back(kv.key());
  CHECK(order.front() == "gone");
  CHECK(order.back() == "fresh");
  CHECK(*s->plugin_drift(obj("{}"), "nobody") == json::object());
  CHECK_FALSE(s->plugin_drift(obj(R"({"x": "1.0"})"), std::nullopt));
}

TEST_CASE("dry run: absent reads false; set is written", "[sections]") {
  StoreFixture f;
  auto s = f.open();
  CHECK_FALSE(s->dry_run());
  REQUIRE(s->apply_dry_run(false));
  REQUIRE(s->commit());
  CHECK(f.disk().at("global_dry_run") == false);  // written, as HarnessSync writes it
  REQUIRE(s->apply_dry_run(true));
  REQUIRE(s->commit());
  CHECK(s->dry_run());
  CHECK(f.disk().at("global_dry_run") == true);
  REQUIRE(s->apply_dry_run(true));
  CHECK_FALSE(s->pending());  // unchanged: nothing to write
}

TEST_CASE("health: scores clamped as Python's max(0, min(100, s)), 90 kept", "[sections]") {
  struct Case {
    const char* in;
    const char* stored;
  } cases[] = {{"85", "85"},     {"-10", "0"},    {"200", "100"},  {"42.5", "42.5"}, {"100.0", "100"},
               {"0.0", "0"},     {"-0.0", "0"},   {"99.99", "99.99"}, {"1e999", "100"}, {"-1e999", "0"},
               {"18446744073709551615", "100"}, {"0.5", "0.5"}, {"100", "100"}};
  StoreFixture f;
  auto s = f.open();
  for (const auto& c : cases) {
    INFO(c.in);
    auto e = s->apply_health(HealthArgs{"codex", json::parse(c.in), "l"});
    REQUIRE(e);
    CHECK(json::serialize(e->at("score")) == json::serialize(json::parse(c.stored)));
    CHECK(e->at("timestamp").as_string() == hs::iso_local(f.now));
    CHECK(e->at("label") == "l");
  }
  REQUIRE(s->commit());
  auto h = s->health_history("codex", 90);
  REQUIRE(h);
  CHECK(h->size() == std::size(cases));
  CHECK(json::value(*h) == f.disk().at("health_score_history").at("codex"));

  SECTION("the last 90 are kept, and read back oldest first") {
    for (int i = 0; i < 100; ++i) REQUIRE(s->apply_health(HealthArgs{"gemini", i, ""}));
    REQUIRE(s->commit());
    const json::value disk = f.disk();
    const auto& kept = disk.at("health_score_history").at("gemini").as_array();
    REQUIRE(kept.size() == 90);
    CHECK(kept.front().at("score") == 10);
    CHECK(kept.back().at("score") == 99);
    auto last3 = s->health_history("gemini", 3);
    REQUIRE(last3);
    CHECK(last3->at(0).at("score") == 97);
    CHECK(last3->at(2).at("score") == 99);
  }
  SECTION("bad input") {
    CHECK(s->health_history("nobody", 30)->empty());
    CHECK(s->health_history("codex", 0).error().field == "n");
    CHECK(s->health_history("codex", 91).error().field == "n");
    CHECK(s->apply_health(HealthArgs{"codex", "5", ""}).error().field == "score");
    CHECK(s->apply_health(HealthArgs{"codex", true, ""}).error().field == "score");
    CHECK(s->apply_health(HealthArgs{"bad name", 5, ""}).error().field == "target");
    CHECK_FALSE(s->pending());
  }
}

TEST_CASE("a failed write of a section change leaves memory and disk as they were", "[sections]") {
  StoreFixture f;
  auto s = f.open();
  REQUIRE(s->record(record_args("codex", {})));
  const std::string before = hs::test::slurp(f.state_path());
  const json::object doc = s->document();
  {
    hs::test::FsizeLimit limit(before.size());
    REQUIRE(s->apply_plugins(obj(R"({"p": {"version": "1.0"}})"), "work"));
    REQUIRE(s->apply_dry_run(true));
    REQUIRE(s->apply_health(HealthArgs{"codex", 50, "x"}));
    CHECK_FALSE(s->commit());
  }
  CHECK(s->document() == doc);
  CHECK(hs::test::slurp(f.state_path()) == before);
}
