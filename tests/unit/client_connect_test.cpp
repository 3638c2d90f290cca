// Client::connect against the real daemon:
// autostart failures and the state dir check.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/test_support.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::ClientOptions;
using harnesssync::Error;
using hs::test::LiveDaemon;

TEST_CASE("client: naming a state dir checks that the daemon serves it", "[client]") {
  LiveDaemon d;
  auto c = Client::connect(d.opts);  // starts it, for d.opts.state_dir
  REQUIRE(c);
  ClientOptions other = d.opts;
  other.autostart = false;
  other.state_dir = d.dir / "other";
  auto wrong = Client::connect(other);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().kind == Error::Kind::wrong_daemon);
  CHECK(wrong.error().message == "harnesssyncd at " + d.opts.socket_path + " serves " + d.opts.state_dir +
                                     "/state.json, not " + other.state_dir + "/state.json");
  other.check_state_dir = false;  // asked not to check
  CHECK(Client::connect(other));
  // The same dir by a symlink is the same state dir.
  REQUIRE(::symlink("state", (d.dir / "alias").c_str()) == 0);
  other.check_state_dir.reset();
  other.state_dir = d.dir / "alias";
  CHECK(Client::connect(other));
  // A daemon.info without state_file cannot be checked.
  auto none = harnesssync::check_daemon_serves(json::object{}, d.opts.socket_path, d.opts.state_dir);
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == Error::Kind::protocol);
}

TEST_CASE("client: no daemon and no autostart is unreachable", "[client]") {
  hs::test::TempDir dir;
  ClientOptions o;
  o.state_dir = dir / "state";
  o.socket_path = dir / "none.sock";
  o.autostart = false;
  auto c = Client::connect(o);
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == Error::Kind::unreachable);
  CHECK(c.error().message.find(o.socket_path) != std::string::npos);
}

TEST_CASE("client: a daemon that cannot start is reported with its own reason", "[client]") {
  hs::test::TempDir dir;
  REQUIRE(::mkdir((dir / "state").c_str(), 0700) == 0);
  hs::test::spit(dir / "state/state.json", R"({"version": 3})");
  ClientOptions o;
  o.state_dir = dir / "state";
  o.socket_path = dir / "hs.sock";
  o.daemon_path = HS_DAEMON;
  auto t0 = std::chrono::steady_clock::now();
  auto c = Client::connect(o);
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == Error::Kind::spawn_failed);
  CHECK(c.error().message.find("version 3") != std::string::npos);
  // Reported at once through the readiness pipe, not after the timeout.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));

  o.daemon_path = dir / "no-such-daemon";
  auto missing = Client::connect(o);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == Error::Kind::spawn_failed);
  // The child reports exec's errno; the parent words it (strerror is not
  // async-signal-safe, so the forked child must not call it).
  CHECK(missing.error().message ==
        "harnesssyncd could not start: cannot run " + (dir / "no-such-daemon") + ": No such file or directory");
}

TEST_CASE("client: a full backlog is waited on, never taken for a connection", "[client]") {
  // listen(0) and nobody accepts: one connection fills the queue, and a
  // non-blocking connect then fails with EAGAIN (on a Unix socket that means
  // not connected, unlike TCP's EINPROGRESS).
  hs::test::TempDir dir;
  const std::string path = dir / "full.sock";
  int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 0) == 0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int f = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(f);
      break;
    }
    fillers.push_back(f);
  }
  ClientOptions o;
  o.socket_path = path;
  o.autostart = false;
  o.timeout = std::chrono::milliseconds(150);
  auto c = Client::connect(o);
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == Error::Kind::timeout);
  for (int f : fillers) ::close(f);
  ::close(l);
}
