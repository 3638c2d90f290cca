// Client::connect against the real daemon and against scripted peers:
// autostart failures, the state dir check, and the check pipelined with
// the first call (ClientOptions::pipeline_check, on_info).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/scripted_peer.hpp"
#include "tests/support/test_support.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::ClientOptions;
using harnesssync::Error;
using hs::test::LiveDaemon;
using hs::test::read_line;
using hs::test::ScriptedPeer;
using hs::test::write_str;

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

TEST_CASE("client: a socket derived from the default state dir must serve that dir", "[client]") {
  // HOME elsewhere: the default state dir is <HOME>/.harnesssync, whose
  // socket name is hashed (only the passwd entry's ~/.harnesssync has the
  // plain one). A daemon of another state dir found at that derived path
  // (here: reached through a symlink to it) must not be written to.
  LiveDaemon d;
  REQUIRE(Client::connect(d.opts));  // starts it, for d.opts.state_dir
  hs::test::EnvVar home("HOME", (d.dir / "home").c_str());
  hs::test::EnvVar xdg("XDG_RUNTIME_DIR", (d.dir / "run").c_str());
  hs::test::EnvVar named("HARNESSSYNC_HOME", nullptr);
  hs::test::EnvVar sock("HARNESSSYNC_SOCKET", nullptr);
  REQUIRE(::mkdir((d.dir / "home").c_str(), 0700) == 0);
  REQUIRE(::mkdir((d.dir / "run").c_str(), 0700) == 0);
  ClientOptions mine;
  mine.autostart = false;
  REQUIRE(harnesssync::state_dir_to_check(mine) == d.dir / "home/.harnesssync");
  auto derived = harnesssync::resolve_socket_path(mine);
  REQUIRE(derived);
  REQUIRE(::mkdir((d.dir / "run/harnesssync").c_str(), 0700) == 0);
  REQUIRE(::symlink(d.opts.socket_path.c_str(), derived->c_str()) == 0);
  auto wrong = Client::connect(mine);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().kind == Error::Kind::wrong_daemon);
  // A socket chosen by hand serves whatever it serves: no check.
  ClientOptions by_hand = mine;
  by_hand.socket_path = *derived;
  CHECK_FALSE(harnesssync::state_dir_to_check(by_hand));
  CHECK(Client::connect(by_hand));
  hs::test::EnvVar env_sock("HARNESSSYNC_SOCKET", derived->c_str());
  CHECK_FALSE(harnesssync::state_dir_to_check(mine));
  CHECK(Client::connect(mine));
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
  // posix_spawnp reports exec's errno.
  CHECK(missing.error().message ==
        "harnesssyncd could not start: cannot run " + (dir / "no-such-daemon") + ": No such file or directory");
}

TEST_CASE("client: an autostarted daemon is not the caller's child and leads a process group of its own",
          "[client]") {
  hs::test::TempDir dir;
  ClientOptions o;
  o.state_dir = dir / "state";
  o.socket_path = dir / "hs.sock";
  o.daemon_path = HS_DAEMON;
  auto c = Client::connect(o);
  REQUIRE(c);
  auto info = c->call("daemon.info", json::object{});
  REQUIRE(info);
  const auto pid = static_cast<pid_t>(info->as_object().at("pid").to_number<int64_t>());
  // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm has no ')' here.
  const std::string proc = "/proc/" + std::to_string(pid) + "/stat";
  auto fields = [&proc](char& state, int& ppid, int& pgrp) {
    std::string stat;
    try {
      stat = hs::test::slurp(proc);
    } catch (const std::exception&) {
      return false;  // gone
    }
    return std::sscanf(stat.c_str() + stat.rfind(')') + 1, " %c %d %d", &state, &ppid, &pgrp) == 3;
  };
  int ppid = 0, pgrp = 0;
  char state = 0;
  REQUIRE(fields(state, ppid, pgrp));
  CHECK(ppid != ::getpid());  // no zombie of ours when it exits
  CHECK(pgrp == pid);         // ^C to our job does not reach it
  REQUIRE(c->call("daemon.shutdown", json::object{}));
  // Gone (or a zombie of whoever adopted it) before the dir is removed.
  for (int i = 0; i < 1000 && ::access(proc.c_str(), F_OK) == 0 && fields(state, ppid, pgrp) && state != 'Z'; ++i) {
    ::usleep(10000);
  }
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

namespace {

// A daemon.info answer naming `state_dir`'s state file.
std::string info_serving(const std::string& state_dir) {
  return json::serialize(json::object{{"name", "harnesssyncd"}, {"state_file", state_dir + "/state.json"}});
}

std::string method_of(const std::string& line) { return std::string(json::parse(line).at("method").as_string()); }

}  // namespace

TEST_CASE("client: a pipelined check goes out with a first call that only reads, in one round trip", "[client]") {
  ScriptedPeer peer;
  const std::string dir = peer.dir / "state";
  peer.serve([dir](int fd) {
    // Both requests arrive before either is answered: a client that waited
    // for the check's answer before sending the call would time out here.
    std::string info = read_line(fd);
    std::string drift = read_line(fd);
    if (method_of(info) != "daemon.info" || method_of(drift) != "state.drift") {
      throw std::runtime_error("peer: got " + info + " then " + drift);
    }
    // Answered out of order: the client matches them by id.
    write_str(fd, hs::test::answer(drift, R"({"target":"codex","tracked":true,"drifted":["/a"],"changed":["/a"]})"));
    write_str(fd, hs::test::answer(info, info_serving(dir)));
    read_line(fd);
  });
  ClientOptions o = peer.options();
  o.state_dir = dir;
  o.pipeline_check = true;
  o.timeout = std::chrono::milliseconds(3000);
  int infos = 0;
  o.on_info = [&](const json::object& info) -> harnesssync::Result<harnesssync::Done> {
    ++infos;
    CHECK(info.at("name").as_string() == "harnesssyncd");
    return harnesssync::Done{};
  };
  auto c = Client::connect(o);
  REQUIRE(c);
  CHECK(infos == 0);  // not read yet: it comes with the first call's answer
  auto d = c->drift("codex", std::nullopt);
  REQUIRE(d);
  CHECK(d->changed == std::vector<std::string>{"/a"});
  CHECK(infos == 1);
}

TEST_CASE("client: with a pipelined check, a wrong daemon is never sent a call that changes something",
          "[client]") {
  ScriptedPeer peer;
  auto seen = std::make_shared<std::vector<std::string>>();
  peer.serve([seen, other = peer.dir / "other"](int fd) {
    for (std::string line = read_line(fd); !line.empty(); line = read_line(fd)) {
      seen->push_back(method_of(line));
      if (method_of(line) == "daemon.info") write_str(fd, hs::test::answer(line, info_serving(other)));
      else write_str(fd, hs::test::answer(line, R"({"target":"codex","status":"success"})"));
    }
  });
  ClientOptions o = peer.options();
  o.state_dir = peer.dir / "state";
  o.pipeline_check = true;
  {
    auto c = Client::connect(o);
    REQUIRE(c);
    harnesssync::RecordRequest r;
    r.target = "codex";
    auto rec = c->record(r);
    REQUIRE_FALSE(rec);
    CHECK(rec.error().kind == Error::Kind::wrong_daemon);
    CHECK(rec.error().message == "harnesssyncd at " + peer.path + " serves " + (peer.dir / "other") +
                                     "/state.json, not " + o.state_dir + "/state.json");
    // The connection is not used again: every call fails the same way.
    auto again = c->ping();
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == Error::Kind::wrong_daemon);
    CHECK_FALSE(c->poll_notifications(std::chrono::milliseconds(0)));
  }  // the client hangs up: the peer has seen everything it was sent
  CHECK(peer.take_failures() == std::vector<std::string>{});
  CHECK(*seen == std::vector<std::string>{"daemon.info"});
}

TEST_CASE("client: with a pipelined check, a read-only call's answer from a wrong daemon is not returned",
          "[client]") {
  LiveDaemon d;
  d.connect();  // starts it, for d.opts.state_dir
  ClientOptions other = d.opts;
  other.autostart = false;
  other.state_dir = d.dir / "other";
  other.pipeline_check = true;
  auto c = Client::connect(other);
  REQUIRE(c);  // the check's answer is not read yet
  auto all = c->all();
  REQUIRE_FALSE(all);
  CHECK(all.error().kind == Error::Kind::wrong_daemon);
  // A call that changes something is refused too, and was never applied.
  harnesssync::RecordRequest r;
  r.target = "codex";
  auto rec = c->record(r);
  REQUIRE_FALSE(rec);
  CHECK(rec.error().kind == Error::Kind::wrong_daemon);
  auto right = d.connect().all();
  REQUIRE(right);
  CHECK(right->at("targets").as_object().empty());
  // The right state dir passes, pipelined or not, and a record goes through.
  ClientOptions same = d.opts;
  same.pipeline_check = true;
  auto ok = Client::connect(same);
  REQUIRE(ok);
  REQUIRE(ok->record(r));
  CHECK(d.connect().all()->at("targets").as_object().contains("codex"));
}

TEST_CASE("client: on_info sees the connect-time daemon.info once, and its error fails like the check's",
          "[client]") {
  LiveDaemon d;
  int calls = 0;
  ClientOptions o = d.opts;
  o.check_state_dir = false;  // on_info alone makes connect() fetch daemon.info
  o.on_info = [&](const json::object& info) -> harnesssync::Result<harnesssync::Done> {
    ++calls;
    if (!info.contains("pid")) return Error{Error::Kind::protocol, 0, "no pid", nullptr};
    return harnesssync::Done{};
  };
  {
    auto c = Client::connect(o);
    REQUIRE(c);
    CHECK(calls == 1);
    REQUIRE(c->ping());
    CHECK(calls == 1);
  }
  o.on_info = [&](const json::object&) -> harnesssync::Result<harnesssync::Done> {
    ++calls;
    return Error{Error::Kind::usage, 0, "refused by on_info", nullptr};
  };
  auto refused = Client::connect(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "refused by on_info");
  CHECK(calls == 2);
  o.pipeline_check = true;
  auto later = Client::connect(o);
  REQUIRE(later);
  CHECK(calls == 2);
  auto ping = later->ping();
  REQUIRE_FALSE(ping);
  CHECK(ping.error().message == "refused by on_info");
  CHECK(calls == 3);
  CHECK(later->ping().error().message == "refused by on_info");
  CHECK(calls == 3);
}
