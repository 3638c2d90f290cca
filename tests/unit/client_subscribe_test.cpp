// state.subscribe through the client: notifications delivered during polls,
// the handler's limits, unsubscribe.
#include <boost/json.hpp>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::Error;
using hs::test::LiveDaemon;

TEST_CASE("client: subscribe, notifications and unsubscribe against the real daemon", "[client][subscriptions]") {
  LiveDaemon d;
  auto c = Client::connect(d.opts);
  REQUIRE(c);
  auto w = Client::connect(d.opts);
  REQUIRE(w);
  harnesssync::RecordRequest r;
  r.target = "codex";
  r.file_hashes = {{"/nonexistent/harnesssync/a", std::string(64, '0')}};
  REQUIRE(w->record(r));
  r.account = "work";
  REQUIRE(w->record(r));

  std::vector<std::string> seen;
  bool call_refused = false;
  c->on_notification([&](std::string_view method, const json::object& p) {
    std::string line(method);
    line += ":" + std::string(p.at("target").is_string() ? p.at("target").as_string() : "null");
    if (p.contains("account")) line += "@" + std::string(p.at("account").as_string());
    if (p.contains("kind")) line += ":" + std::string(p.at("kind").as_string());
    if (p.contains("removed")) line += ":" + std::to_string(p.at("removed").as_array().size());
    seen.push_back(line);
    // The handler must not call the Client: refused, not re-entered.
    auto ping = c->ping();
    call_refused = !ping && ping.error().kind == Error::Kind::usage;
  });
  auto sub = c->subscribe({}, std::string("work"));
  REQUIRE(sub);
  CHECK(*sub >= 1);
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 200 && seen.size() < n; ++i) REQUIRE(c->poll_notifications(std::chrono::milliseconds(100)));
  };
  wait_for(1);
  CHECK(seen == std::vector<std::string>{"state.drifted:codex@work:1"});
  CHECK(call_refused);
  REQUIRE(c->ping());  // and works again once the handler returned

  REQUIRE(w->clear("codex", std::string("work")));
  wait_for(2);
  CHECK(seen.back() == "state.changed:codex@work:cleared");
  REQUIRE(c->unsubscribe(*sub));
  auto again = c->unsubscribe(*sub);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == Error::Kind::rpc);
  CHECK(again.error().code == -32602);
  REQUIRE(w->record(r));
  auto n = c->poll_notifications(std::chrono::milliseconds(300));
  REQUIRE(n);
  CHECK(*n == 0);
}
