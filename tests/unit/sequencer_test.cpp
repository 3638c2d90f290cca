// The Sequencer against a real store and a real io_context: what it hands
// back (Results, with write failures as Errc::write_failed), what it counts,
// and that no read shows a change before it is durable, also while the
// state.all text is made on the writer thread.
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <optional>

#include "daemon/sequencer/sequencer.hpp"
#include "tests/catch.hpp"
#include "tests/support/fsize_limit.hpp"
#include "tests/support/store_fixture.hpp"

namespace json = boost::json;
using hs::daemon::sequencer::Sequencer;
using hs::daemon::store::StateStore;
using hs::proto::JsonText;
using hs::test::record_args;
using hs::test::StoreFixture;

namespace {

Sequencer::Apply record(std::string target) {
  return [target = std::move(target)](StateStore& s) -> hs::Result<json::value> {
    auto r = s.apply_record(record_args(target, {}));
    if (!r) return std::move(r).error();
    return json::value(std::move(*r));
  };
}

}  // namespace

TEST_CASE("a failed write is delivered as Errc::write_failed and not counted", "[sequencer][failure]") {
  StoreFixture f;
  auto store = f.open();
  boost::asio::io_context io;
  Sequencer seq(io, *store);

  std::optional<hs::Result<json::value>> ok;
  seq.mutate(record("before"), [&](hs::Result<json::value> r) { ok = std::move(r); });
  io.run();
  REQUIRE(ok);
  REQUIRE(*ok);
  CHECK(seq.writes() == 1);
  CHECK(seq.changes_written() == 1);

  std::optional<hs::Result<json::value>> failed;
  {
    hs::test::FsizeLimit limit(16);
    seq.mutate(record("during"), [&](hs::Result<json::value> r) { failed = std::move(r); });
    io.restart();
    io.run();
  }
  REQUIRE(failed);
  REQUIRE_FALSE(*failed);
  CHECK(failed->error().code == hs::Errc::write_failed);
  CHECK(failed->error().sys_errno == EFBIG);
  CHECK(failed->error().path.find(f.dir.path()) == 0);
  CHECK(seq.writes() == 1);  // it used to count the failed write too
  CHECK(seq.changes_written() == 1);
  CHECK_FALSE(store->document().at("targets").as_object().contains("during"));
}

TEST_CASE("state.all text never shows a change before it is durable", "[sequencer]") {
  StoreFixture f;
  auto store = f.open();
  REQUIRE(store->record(record_args("first", {})));
  boost::asio::io_context io;
  Sequencer seq(io, *store);

  std::vector<std::string> events;
  JsonText before, after;
  seq.read_text([&](JsonText t) {
    events.emplace_back("text 1");
    before = std::move(t);
  });
  // Queued while the first text is made on the writer thread: must wait.
  seq.mutate(record("second"), [&](hs::Result<json::value> r) {
    REQUIRE(r);
    events.emplace_back("record");
  });
  seq.read_text([&](JsonText t) {
    events.emplace_back("text 2");
    after = std::move(t);
  });
  io.run();
  CHECK(events == std::vector<std::string>{"text 1", "record", "text 2"});
  REQUIRE(before);
  REQUIRE(after);
  CHECK(json::parse(*before).at("targets").as_object().size() == 1);
  CHECK(json::parse(*after).at("targets").as_object().contains("second"));
  CHECK(json::parse(*after) == json::value(store->document()));
}
