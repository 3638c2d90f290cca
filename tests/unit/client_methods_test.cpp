// The typed wrappers of daemon.*, state.*, hash.files and lock.* against
// the real daemon (started by the client itself), and their errors.
#include <boost/json.hpp>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/scripted_peer.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::Error;
using hs::test::LiveDaemon;
using hs::test::ScriptedAnswers;

TEST_CASE("client: autostart, typed wrappers and errors against the real daemon", "[client]") {
  LiveDaemon d;
  auto c = Client::connect(d.opts);
  REQUIRE(c);
  CHECK(c->started_daemon());
  CHECK(c->socket_path() == d.opts.socket_path);
  REQUIRE(c->ping());

  auto info = c->info();
  REQUIRE(info);
  CHECK(info->at("name").as_string() == "harnesssyncd");

  harnesssync::RecordRequest r;
  r.target = "codex";
  r.file_hashes = {{"/a", std::string(64, 'a')}, {"/b", std::string(64, 'b')}};
  r.sync_methods = {{"/a", "symlink"}};
  r.synced = 2;
  auto entry = c->record(r);
  REQUIRE(entry);
  CHECK(entry->at("status").as_string() == "success");

  auto drift = c->drift("codex", std::vector<std::pair<std::string, std::string>>{{"/a", std::string(64, 'c')}});
  REQUIRE(drift);
  CHECK(drift->tracked);
  CHECK(drift->changed == std::vector<std::string>{"/a"});
  CHECK(drift->removed == std::vector<std::string>{"/b"});

  auto t = c->target("codex");
  REQUIRE(t);
  REQUIRE(t->has_value());
  CHECK((*t)->at("items_synced").as_int64() == 2);
  auto none = c->target("gemini");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto all = c->all();
  REQUIRE(all);
  CHECK(all->at("targets").as_object().size() == 1);
  auto hashes = c->hash_files({d.dir / "missing"});
  REQUIRE(hashes);
  CHECK_FALSE((*hashes)[d.dir / "missing"].has_value());
  auto cleared = c->clear("codex");
  REQUIRE(cleared);
  CHECK(*cleared);
  auto migrate = c->migrate_cc2all(d.dir / "no-cc2all");
  REQUIRE(migrate);
  CHECK_FALSE(migrate->migrated);
  auto discover = c->discover();
  REQUIRE(discover);
  CHECK(discover->at("openrpc").as_string().starts_with("1.2"));

  // A daemon error is typed: code, message, data.
  auto bad = c->call("state.target", json::object{{"target", "no spaces"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == Error::Kind::rpc);
  CHECK(bad.error().code == -32602);
  CHECK(bad.error().data.at("field").as_string() == "target");
  auto missing = c->call("no.such.method");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == -32601);

  // A second client finds the running daemon: it does not start another.
  auto c2 = Client::connect(d.opts);
  REQUIRE(c2);
  CHECK_FALSE(c2->started_daemon());
  CHECK(c2->info()->at("pid") == info->at("pid"));
}

TEST_CASE("client: lock.acquire's answer, with and without owed", "[client]") {
  ScriptedAnswers s({R"({"acquired":true,"coalesced":false,"holder_pid":12,"owed":true})",
                     R"({"acquired":false,"coalesced":true,"holder_pid":null})",
                     R"({"coalesced":true})"});
  {
  Client c = s.connect();
  auto owed = c.lock_acquire("sync", 100, true);
  REQUIRE(owed);
  CHECK(owed->acquired);
  CHECK(owed->holder_pid == 12);
  CHECK(owed->owed == true);
  auto covered = c.lock_acquire("sync2");
  REQUIRE(covered);
  CHECK(covered->coalesced);
  CHECK_FALSE(covered->holder_pid.has_value());
  CHECK_FALSE(covered->owed.has_value());  // a daemon that does not say
  auto bad = c.lock_acquire("sync3");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == Error::Kind::protocol);
  }  // the client hangs up: the peer ends
  CHECK(s.peer.take_failures() == std::vector<std::string>{});
  CHECK((*s.seen)[0] == json::object{{"name", "sync"}, {"wait_ms", 100}, {"coalesce", true}});
  CHECK((*s.seen)[1] == json::object{{"name", "sync2"}, {"wait_ms", 0}});
}
