// The typed wrappers of HarnessSync's other sections (accounts, plugins,
// dry run, health) against the real daemon and a scripted peer.
#include <boost/json.hpp>
#include <cstdlib>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/scripted_peer.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::Error;
using hs::test::LiveDaemon;
using hs::test::ScriptedAnswers;

TEST_CASE("client: accounts, plugins, dry run and health against the real daemon", "[client]") {
  LiveDaemon d;
  auto c = Client::connect(d.opts);
  REQUIRE(c);
  auto info = c->info();
  REQUIRE(info);
  // The library passes no --schema: the daemon's rule (STATE.md "Layout 2")
  // gives HarnessSync's layout unless $HARNESSSYNC_SCHEMA says otherwise.
  const char* asked = std::getenv("HARNESSSYNC_SCHEMA");
  CHECK(info->at("schema").as_int64() == (asked != nullptr && std::string(asked) == "1" ? 1 : 2));

  // Accounts.
  auto none = c->accounts();
  REQUIRE(none);
  CHECK(none->empty());
  harnesssync::RecordRequest r;
  r.target = "codex";
  r.synced = 3;
  r.account = "work";
  REQUIRE(c->record(r));
  r.account = "home";
  REQUIRE(c->record(r));
  auto names = c->accounts();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"home", "work"});
  auto work = c->account("work");
  REQUIRE(work);
  REQUIRE(work->has_value());
  CHECK((*work)->at("targets").at("codex").at("items_synced").as_int64() == 3);
  auto nobody = c->account("nobody");
  REQUIRE(nobody);
  CHECK_FALSE(nobody->has_value());

  // Plugins: top level and per account.
  auto status = c->plugins_status();
  REQUIRE(status);
  CHECK(status->empty());
  auto n = c->plugins_record(json::object{{"context7", json::object{{"version", "1.2.0"}, {"mcp_count", 2}}},
                                          {"old", json::object{{"version", "0.1"}}}},
                             "work");
  REQUIRE(n);
  CHECK(*n == 2);
  auto stored = c->plugins_status("work");
  REQUIRE(stored);
  CHECK(stored->at("context7").at("version").as_string() == "1.2.0");
  auto top = c->plugins_status();
  REQUIRE(top);
  CHECK(top->empty());
  auto drift = c->plugins_drift(json::object{{"linear", json::object{{"version", "0.1"}}},
                                             {"context7", json::object{{"version", "1.3.0"}, {"mcp_count", 2}}}},
                                "work");
  REQUIRE(drift);
  using Reasons = std::vector<std::pair<std::string, std::string>>;
  CHECK(*drift == Reasons{{"old", "removed"}, {"linear", "added"}, {"context7", "version_changed: 1.2.0 -> 1.3.0"}});
  auto bad_plugins = c->plugins_record(json::object{{"x", 1}});
  REQUIRE_FALSE(bad_plugins);
  CHECK(bad_plugins.error().code == -32602);
  CHECK(bad_plugins.error().data.at("field").as_string() == "plugins");

  // Dry run.
  auto off = c->dry_run();
  REQUIRE(off);
  CHECK_FALSE(*off);
  auto on = c->dry_run(true);
  REQUIRE(on);
  CHECK(*on);
  auto read = c->dry_run();
  REQUIRE(read);
  CHECK(*read);

  // Health: clamped, integral scores stay integers, history oldest first.
  auto h1 = c->health_record("codex", 84, "good");
  REQUIRE(h1);
  CHECK(h1->score == 84);
  CHECK(h1->label == "good");
  CHECK_FALSE(h1->timestamp.empty());
  auto h2 = c->health_record("codex", 42.5);
  REQUIRE(h2);
  CHECK(h2->score == 42.5);
  CHECK(h2->label.empty());
  auto h3 = c->health_record("codex", 250);
  REQUIRE(h3);
  CHECK(h3->score == 100);
  auto hist = c->health_history("codex");
  REQUIRE(hist);
  REQUIRE(hist->size() == 3);
  CHECK((*hist)[0].score == 84);
  CHECK((*hist)[1].score == 42.5);
  CHECK((*hist)[2].score == 100);
  auto last = c->health_history("codex", 1);
  REQUIRE(last);
  REQUIRE(last->size() == 1);
  CHECK(last->front().score == 100);
  auto empty = c->health_history("gemini");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto bad_n = c->health_history("codex", 91);
  REQUIRE_FALSE(bad_n);
  CHECK(bad_n.error().code == -32602);
  // The file holds 84 as an integer, as HarnessSync would.
  auto all = c->all();
  REQUIRE(all);
  CHECK(all->at("health_score_history").at("codex").at(0).at("score").is_int64());
}

TEST_CASE("client: the new wrappers' params and answers, against a scripted peer", "[client]") {
  ScriptedAnswers s({
      R"({"last_sync":"2026-11-26T02:57:34"})",  // state.account
      R"(null)",                                  // state.account
      R"(["a","b"])",                             // state.accounts
      R"({"plugins":1})",                         // plugins.record
      R"({"p":{"version":"1"}})",                 // plugins.status
      R"({"drift":{"z":"removed","a":"added"}})", // plugins.drift
      R"({"global_dry_run":false})",              // settings.dry_run
      R"({"timestamp":"t","score":7,"label":""})",// health.record
      R"([{"timestamp":"t","score":1.5,"label":"x"}])",  // health.history
  });
  {
  Client c = s.connect();
  auto a = c.account("work");
  REQUIRE(a);
  REQUIRE(a->has_value());
  CHECK((*a)->at("last_sync").as_string() == "2026-11-26T02:57:34");
  auto none = c.account("other");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  CHECK(*c.accounts() == std::vector<std::string>{"a", "b"});
  CHECK(*c.plugins_record(json::object{{"p", json::object{}}}, "work") == 1);
  CHECK(c.plugins_status()->at("p").at("version").as_string() == "1");
  // The daemon's order is kept (removed first), not sorted.
  using Reasons = std::vector<std::pair<std::string, std::string>>;
  CHECK(*c.plugins_drift(json::object{{"a", json::object{}}}) == Reasons{{"z", "removed"}, {"a", "added"}});
  CHECK_FALSE(*c.dry_run(false));
  CHECK(c.health_record("codex", 7.0)->score == 7);
  auto h = c.health_history("codex", 5);
  REQUIRE(h);
  REQUIRE(h->size() == 1);
  CHECK(h->front().score == 1.5);
  CHECK(h->front().label == "x");
  }  // the client hangs up: the peer ends
  CHECK(s.peer.take_failures() == std::vector<std::string>{});

  const auto& p = *s.seen;
  REQUIRE(p.size() == 9);
  CHECK(p[0] == json::object{{"account", "work"}});
  CHECK(p[2].empty());
  CHECK(p[3] == json::object{{"plugins", json::object{{"p", json::object{}}}}, {"account", "work"}});
  CHECK(p[4].empty());  // no account: the top-level plugins
  CHECK(p[5] == json::object{{"current", json::object{{"a", json::object{}}}}});
  CHECK(p[6] == json::object{{"enabled", false}});
  // An integral score goes as an integer.
  CHECK(p[7].at("score").is_int64());
  CHECK(p[7].at("label").as_string() == "");
  CHECK(p[8] == json::object{{"target", "codex"}, {"n", 5}});
}

TEST_CASE("client: malformed answers to the new wrappers are protocol errors", "[client]") {
  ScriptedAnswers s({R"({"names":[]})", R"({})", R"({"drift":{"a":1}})", R"({"global_dry_run":"yes"})",
                     R"({"timestamp":"t"})", R"([{"score":"high"}])", R"(7)"});
  Client c = s.connect();
  auto kind = [](const auto& r) { return r ? std::string("ok") : std::to_string(static_cast<int>(r.error().kind)); };
  const std::string protocol = std::to_string(static_cast<int>(Error::Kind::protocol));
  CHECK(kind(c.accounts()) == protocol);
  CHECK(kind(c.plugins_record(json::object{})) == protocol);
  CHECK(kind(c.plugins_drift(json::object{})) == protocol);
  CHECK(kind(c.dry_run()) == protocol);
  CHECK(kind(c.health_record("t", 1)) == protocol);
  CHECK(kind(c.health_history("t")) == protocol);
  CHECK(kind(c.account("a")) == protocol);
}
