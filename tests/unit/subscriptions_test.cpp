// The notification mailbox (daemon/live/mailbox.hpp) and the notification
// texts (daemon/live/notices.hpp): bounds, replacement and order.
#include <boost/json.hpp>
#include <string>

#include "daemon/live/mailbox.hpp"
#include "daemon/live/notices.hpp"
#include "daemon/net/session.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "tests/catch.hpp"

using namespace hs::daemon::live;
using hs::daemon::net::ResponseText;
using hs::daemon::net::Session;
using hs::daemon::sequencer::ChangeNote;
using hs::daemon::sequencer::Sequencer;
using hs::proto::JsonText;
namespace json = boost::json;

namespace {

ResponseText text(std::string s) {
  ResponseText r;
  r.head = std::move(s);
  return r;
}

std::string whole(const ResponseText& r) { return r.head + (r.shared ? *r.shared : "") + r.tail; }

std::string next(Mailbox& box) {
  auto m = box.pop();
  REQUIRE(m);
  return whole(*m);
}

}  // namespace

TEST_CASE("mailbox: a newer drift replaces the unsent older one and goes last", "[subscriptions]") {
  Mailbox box;
  box.put_drifted(1, "codex", text("d1"));
  box.put_changed(1, text("c1"));
  box.put_drifted(2, "codex", text("other"));  // another subscription: kept apart
  box.put_drifted(1, "codex", text("d2"));
  box.put_drifted(1, "gemini", text("g"));
  CHECK(box.size() == 4);
  CHECK(next(box) == "c1");
  CHECK(next(box) == "other");
  CHECK(next(box) == "d2");
  CHECK(next(box) == "g");
  CHECK_FALSE(box.pop());
  // Popped: the next one for the same key is queued anew.
  box.put_drifted(1, "codex", text("d3"));
  CHECK(next(box) == "d3");
  CHECK_FALSE(box.resync_owed());
}

TEST_CASE("mailbox: past its bound it drops everything and owes a resync", "[subscriptions]") {
  Mailbox box;
  box.put_drifted(1, "codex", text("d"));
  for (size_t i = 0; i < Mailbox::kMaxChanged; ++i) box.put_changed(1, text("c" + std::to_string(i)));
  CHECK_FALSE(box.resync_owed());
  CHECK(box.size() == Mailbox::kMaxChanged + 1);
  box.put_changed(1, text("one too many"));
  CHECK(box.resync_owed());
  CHECK(box.empty());
  CHECK(box.overflows() == 1);
  // While a resync is owed nothing is queued: the resync covers it.
  box.put_changed(1, text("later"));
  box.put_drifted(1, "codex", text("later"));
  CHECK(box.empty());
  box.take_resync();
  box.put_changed(1, text("after"));
  CHECK(next(box) == "after");
}

TEST_CASE("mailbox: drifts are bounded too, and an ended subscription's are forgotten", "[subscriptions]") {
  Mailbox box;
  for (size_t i = 0; i < Mailbox::kMaxDrifted; ++i) box.put_drifted(1, "t" + std::to_string(i), text("d"));
  CHECK_FALSE(box.resync_owed());
  box.put_drifted(1, "t0", text("replaces, within the bound"));
  CHECK_FALSE(box.resync_owed());
  box.put_drifted(1, "another", text("d"));
  CHECK(box.resync_owed());
  box.take_resync();

  box.put_changed(1, text("c1"));
  box.put_drifted(1, "codex", text("d1"));
  box.put_changed(2, text("c2"));
  box.put_drifted(2, "codex", text("d2"));
  box.drop_subscription(1);
  CHECK(next(box) == "c2");
  CHECK(next(box) == "d2");
  CHECK(box.empty());
  // Counts stay right after dropping: the full bound is available again.
  for (size_t i = 0; i < Mailbox::kMaxChanged; ++i) box.put_changed(3, text("c"));
  CHECK_FALSE(box.resync_owed());
}

TEST_CASE("notices: state.drifted and state.changed are valid JSON-RPC notifications", "[subscriptions]") {
  hs::daemon::store::DriftReport r;
  r.tracked = true;
  r.changed = {"/a \"quoted\""};
  r.removed = {"/b"};
  r.errors = {{"/c", "Permission denied"}};
  JsonText body = drift_body(r);
  auto d = json::parse(whole(drifted_message(7, "codex", std::string("work"), body)));
  CHECK(d == json::parse(R"({"jsonrpc": "2.0", "method": "state.drifted", "params": {"subscription": 7,
      "target": "codex", "account": "work", "changed": ["/a \"quoted\""], "removed": ["/b"],
      "errors": [{"path": "/c", "reason": "Permission denied"}]}})"));
  // The member order is the documented one.
  CHECK(whole(drifted_message(7, "codex", std::nullopt, body))
            .rfind(R"({"jsonrpc":"2.0","method":"state.drifted","params":{"subscription":7,"target":"codex","changed":)", 0) == 0);
  auto empty = json::parse(whole(drifted_message(1, "t", std::nullopt, drift_body(hs::daemon::store::DriftReport{}))));
  CHECK(empty.at("params") == json::parse(R"({"subscription": 1, "target": "t", "changed": [], "removed": [], "errors": []})"));

  ChangeNote note{"recorded", std::string("codex"), std::nullopt, {}};
  CHECK(whole(changed_message(3, note, json::value("2026-11-24T10:00:00.123456"))) ==
        R"({"jsonrpc":"2.0","method":"state.changed","params":{"subscription":3,"target":"codex","kind":"recorded","last_sync":"2026-11-24T10:00:00.123456"}})");
  ChangeNote whole_state{"dry_run", std::nullopt, std::string("work"), {}};
  CHECK(whole(changed_message(3, whole_state, nullptr)) ==
        R"({"jsonrpc":"2.0","method":"state.changed","params":{"subscription":3,"target":null,"account":"work","kind":"dry_run","last_sync":null}})");
}

// ---- the Sequencer's change notes (what state.changed is made from) ----

#include <boost/asio/io_context.hpp>
#include <vector>

#include "tests/support/fsize_limit.hpp"
#include "tests/support/store_fixture.hpp"

namespace {

Sequencer::Apply record_apply(std::string target) {
  return [target = std::move(target)](hs::daemon::store::StateStore& s) -> hs::Result<json::value> {
    auto r = s.apply_record(hs::test::record_args(target, {}));
    if (!r) return std::move(r).error();
    return json::value(std::move(*r));
  };
}

}  // namespace

TEST_CASE("sequencer: noted changes are announced once durable, in order, after their answers", "[subscriptions]") {
  hs::test::StoreFixture f;
  auto store = f.open();
  boost::asio::io_context io;
  Sequencer seq(io, *store);
  std::vector<std::string> events;
  seq.set_on_durable([&](const ChangeNote& n, const hs::daemon::store::StateStore& s) {
    // Durable: nothing pending, and the file holds it.
    CHECK_FALSE(s.pending());
    events.push_back(n.kind + ":" + n.target.value_or("-"));
  });
  auto done = [&](std::string what) { return [&events, what](hs::Result<json::value>) { events.push_back(what); }; };
  // Queued together: they share one write, and are announced in order.
  seq.mutate(record_apply("a"), done("answer a"), ChangeNote{"recorded", std::string("a"), std::nullopt, {}});
  seq.mutate(record_apply("b"), done("answer b"));  // no note: not announced
  seq.mutate(
      [](hs::daemon::store::StateStore& s) -> hs::Result<json::value> {
        auto r = s.apply_clear({"nothing", std::nullopt});
        return json::value(json::object{{"cleared", *r}});
      },
      done("answer clear"),
      ChangeNote{"cleared", std::string("nothing"), std::nullopt,
                 [](const json::value& v) { return v.at("cleared").as_bool(); }});
  seq.mutate(record_apply("c"), done("answer c"), ChangeNote{"recorded", std::string("c"), std::nullopt, {}});
  io.run();
  CHECK(events == std::vector<std::string>{"answer a", "recorded:a", "answer b", "answer clear", "answer c",
                                           "recorded:c"});

  // A failed write announces nothing.
  events.clear();
  {
    hs::test::FsizeLimit limit(16);
    seq.mutate(record_apply("d"), done("answer d"), ChangeNote{"recorded", std::string("d"), std::nullopt, {}});
    io.restart();
    io.run();
  }
  CHECK(events == std::vector<std::string>{"answer d"});
}

// ---- the registry, over a real Session on a socketpair ----

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sha256.hpp"
#include "daemon/live/subscriptions.hpp"
#include "tests/support/context_rig.hpp"

namespace {

struct SubRig : hs::test::ContextRig {
  Subscriptions subs{io, seq, files, drift};
  bool closed = false;
  int peer = -1;
  std::shared_ptr<Session> session;
  std::string got;

  SubRig() {
    ctx.subs = &subs;
    subs.start();
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    peer = sv[1];
    ::fcntl(peer, F_SETFL, O_NONBLOCK);
    boost::asio::local::stream_protocol::socket sock(io, boost::asio::local::stream_protocol(), sv[0]);
    session = std::make_shared<Session>(std::move(sock), 1, limits, on_frame(), [this](uint64_t) { closed = true; });
    session->start();
  }
  ~SubRig() {
    if (peer >= 0) ::close(peer);
  }
  // The next message the peer receives within a few seconds, or null.
  json::value next() {
    for (int i = 0; i < 1000; ++i) {
      if (auto nl = got.find('\n'); nl != std::string::npos) {
        auto v = json::parse(got.substr(0, nl));
        got.erase(0, nl + 1);
        return v;
      }
      io.run_for(std::chrono::milliseconds(5));
      char buf[65536];
      ssize_t n = ::read(peer, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return nullptr;
  }
  void settle() {
    for (int i = 0; i < 40; ++i) io.run_for(std::chrono::milliseconds(5));
  }
};

}  // namespace

TEST_CASE("subscriptions: dirty keys from the file watch re-check drift, and only news is sent", "[subscriptions]") {
  SubRig rig;
  const std::string f = rig.fx.dir / "AGENTS.md";
  hs::test::spit(f, "one");
  REQUIRE(rig.store->record(hs::test::record_args("codex", json::object{{f, hs::sha256_hex("one")}})));
  auto id = rig.subs.add(rig.session, std::nullopt, std::nullopt);
  REQUIRE(id);
  rig.subs.start_initial(*id);
  auto first = rig.next();
  REQUIRE(first.is_object());
  CHECK(first.at("method") == "state.drifted");
  CHECK(first.at("params").at("changed") == json::array{});
  CHECK(rig.subs.info().at("targets") == 1);

  // The file changes on disk; the watch reports the key dirty.
  hs::test::spit(f, "two");
  rig.subs.on_dirty({"codex"});
  auto second = rig.next();
  REQUIRE(second.is_object());
  CHECK(second.at("params").at("changed") == json::array{json::value(f)});
  // Dirty again with nothing new: nothing is sent.
  rig.subs.on_dirty({"codex"});
  rig.settle();
  CHECK(rig.got.empty());
  // Back as recorded: clean again. Keys nobody subscribes to are ignored.
  hs::test::spit(f, "one");
  rig.subs.on_dirty({"codex", "gemini", "work/codex"});
  auto third = rig.next();
  REQUIRE(third.is_object());
  CHECK(third.at("params").at("changed") == json::array{});
  rig.settle();
  CHECK(rig.got.empty());

  // The connection ends: so do its subscriptions and its target's watch.
  ::close(rig.peer);
  rig.peer = -1;
  for (int i = 0; i < 400 && !rig.closed; ++i) rig.io.run_for(std::chrono::milliseconds(5));
  REQUIRE(rig.closed);
  CHECK(rig.subs.info() == json::object{{"count", 0}, {"connections", 0}, {"targets", 0}, {"resyncs", 0}});
}
