// The C++ library's trigger calls (client/src/triggers.cpp) against a real
// daemon: set, list, run with its trigger.finished, log, pause, resume,
// remove, and a refused param naming its field.
#include <chrono>
#include <string>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"

using hs::test::LiveDaemon;

TEST_CASE("trigger client: every call, and trigger.finished of the run trigger_run names", "[trigger_client]") {
  LiveDaemon d;
  auto c = d.connect();
  harnesssync::TriggerSpec spec;
  spec.name = "t";
  spec.watch = {d.dir / "watched"};
  spec.command = {"sh", "-c", "echo out; echo err >&2; exit 5"};
  spec.env = {{"K", "v"}};
  spec.settle_ms = 20;
  spec.no_lock = true;
  auto set = c.trigger_set(spec);
  REQUIRE(set);
  CHECK(set->spec.name == "t");
  CHECK(set->spec.command[0][0] == '/');  // resolved on the daemon's PATH
  CHECK(set->spec.no_lock);
  CHECK(set->spec.settle_ms == 20);
  CHECK(set->spec.max_wait_ms == 3000);
  CHECK(set->state == "idle");
  CHECK_FALSE(set->last);

  std::optional<int64_t> finished_run, exit_code;
  c.on_notification([&](std::string_view method, const boost::json::object& p) {
    if (method != "trigger.finished") return;
    finished_run = p.at("run").as_int64();
    exit_code = p.at("exit_code").as_int64();
  });
  REQUIRE(c.subscribe_triggers());
  auto n = c.trigger_run("t");
  REQUIRE(n);
  CHECK(*n == 1);
  for (int i = 0; i < 300 && !finished_run; ++i) REQUIRE(c.poll_notifications(std::chrono::milliseconds(100)));
  CHECK(finished_run == 1);
  CHECK(exit_code == 5);

  auto log = c.trigger_log("t", 5);
  REQUIRE(log);
  REQUIRE(log->size() == 1);
  CHECK(log->at(0).run == 1);
  CHECK(log->at(0).exit_code == 5);
  CHECK(log->at(0).stdout_tail == "out\n");
  CHECK(log->at(0).stderr_tail == "err\n");
  CHECK(log->at(0).changed == 0);

  REQUIRE(c.trigger_pause("t"));
  auto list = c.trigger_list();
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->at(0).paused);
  CHECK(list->at(0).state == "paused");
  CHECK(list->at(0).runs == 1);
  REQUIRE(list->at(0).last);
  CHECK(list->at(0).last->exit_code == 5);
  REQUIRE(c.trigger_resume());
  REQUIRE(c.trigger_remove("t"));
  auto again = c.trigger_remove("t");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == harnesssync::Error::Kind::rpc);
  CHECK(again.error().code == 2);
}

TEST_CASE("trigger client: a refused param names its field and saves nothing", "[trigger_client]") {
  LiveDaemon d;
  auto c = d.connect();
  harnesssync::TriggerSpec spec;
  spec.name = "t";
  spec.watch = {"relative/path"};
  spec.command = {"/bin/true"};
  auto r = c.trigger_set(spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == -32602);
  CHECK(r.error().data.at("field").as_string() == "watch");
  auto list = c.trigger_list();
  REQUIRE(list);
  CHECK(list->empty());
}
