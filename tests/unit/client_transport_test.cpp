// The client's transport against scripted peers on a real socket: silence,
// notifications, a failing or vanishing peer.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/scripted_peer.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::ClientOptions;
using harnesssync::Error;
using hs::test::read_line;
using hs::test::ScriptedPeer;
using hs::test::write_str;

TEST_CASE("client: a silent peer times out", "[client]") {
  ScriptedPeer peer;
  peer.serve([](int fd) {
    read_line(fd);
    usleep(500000);  // never answers in time
  });
  ClientOptions o;
  o.socket_path = peer.path;
  o.autostart = false;
  o.timeout = std::chrono::milliseconds(100);
  auto c = Client::connect(o);
  REQUIRE(c);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c->ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == Error::Kind::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(400));
}

TEST_CASE("client: notifications reach the handler while waiting for an answer", "[client]") {
  ScriptedPeer peer;
  peer.serve([](int fd) {
    std::string req = read_line(fd);
    auto id = json::parse(req).at("id");
    write_str(fd, R"({"jsonrpc":"2.0","method":"state.changed","params":{"subscription":1,"target":"codex","kind":"recorded"}})" "\n");
    // The answer in the other framing: the client takes both.
    std::string body = R"({"jsonrpc":"2.0","id":)" + json::serialize(id) + R"(,"result":"pong"})";
    write_str(fd, "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    write_str(fd, R"({"jsonrpc":"2.0","method":"state.drifted","params":{"subscription":1,"target":"gemini"}})" "\n");
    read_line(fd);  // stay connected until the client hangs up
  });
  ClientOptions o;
  o.socket_path = peer.path;
  o.autostart = false;
  auto c = Client::connect(o);
  REQUIRE(c);
  std::vector<std::string> seen;
  c->on_notification([&](std::string_view method, const json::object& params) {
    seen.push_back(std::string(method) + ":" + std::string(params.at("target").as_string()));
  });
  REQUIRE(c->ping());
  CHECK(seen == std::vector<std::string>{"state.changed:codex"});
  auto n = c->poll_notifications(std::chrono::milliseconds(2000));
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(seen.back() == "state.drifted:gemini");
}

TEST_CASE("client: a scripted peer's failure is reported on the main thread", "[client]") {
  ScriptedPeer peer;
  peer.serve([](int fd) {
    read_line(fd);
    ::shutdown(fd, SHUT_WR);
    throw std::runtime_error("peer: scripted failure");
  });
  ClientOptions o;
  o.socket_path = peer.path;
  o.autostart = false;
  auto c = Client::connect(o);
  REQUIRE(c);
  CHECK_FALSE(c->ping());
  CHECK(peer.take_failures() == std::vector<std::string>{"peer: scripted failure"});
}

TEST_CASE("client: a peer that closes mid-call is a protocol error", "[client]") {
  ScriptedPeer peer;
  peer.serve([](int fd) { read_line(fd); });
  ClientOptions o;
  o.socket_path = peer.path;
  o.autostart = false;
  auto c = Client::connect(o);
  REQUIRE(c);
  auto r = c->ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == Error::Kind::protocol);
}
