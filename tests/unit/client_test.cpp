// The client library against the real daemon, and against a scripted peer
// on a real socket for what a correct daemon never does (stay silent, send
// notifications).
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::ClientOptions;
using harnesssync::Error;

namespace {

// A daemon started (and stopped) through the library itself.
struct LiveDaemon {
  hs::test::TempDir dir;
  ClientOptions opts;
  LiveDaemon() {
    opts.state_dir = dir / "state";
    opts.socket_path = dir / "hs.sock";
    opts.daemon_path = HS_DAEMON;
    opts.timeout = std::chrono::milliseconds(10000);
  }
  ~LiveDaemon() {
    ClientOptions o = opts;
    o.autostart = false;
    if (auto c = Client::connect(o)) (void)c->shutdown();
    for (int i = 0; i < 400 && hs::test::exists(opts.socket_path); ++i) usleep(5000);
  }
};

// A listening socket whose peer behaviour the test scripts. The script runs
// on a peer thread, where Catch2's assertions must not be used (they are not
// thread-safe, and a REQUIRE that throws there calls std::terminate): it
// throws instead, and the failure is collected and checked on the main thread.
struct ScriptedPeer {
  hs::test::TempDir dir;
  std::string path = dir / "peer.sock";
  int listener = -1;
  std::thread thread;
  std::mutex mu;
  std::vector<std::string> failures;  // guarded by mu
  ScriptedPeer() {
    listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener, 4) == 0);
  }
  template <class F>
  void serve(F f) {
    thread = std::thread([this, f] {
      int c = ::accept(listener, nullptr, nullptr);
      if (c < 0) return;  // the test ended without connecting
      try {
        f(c);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        failures.emplace_back(e.what());
      }
      ::close(c);
    });
  }
  /// Stops the peer and returns its failures (the destructor then sees none).
  std::vector<std::string> take_failures() {
    ::shutdown(listener, SHUT_RDWR);
    if (thread.joinable()) thread.join();
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(failures, {});
  }
  ~ScriptedPeer() {
    // On the main thread, at the end of the test case's scope.
    CHECK(take_failures() == std::vector<std::string>{});
    ::close(listener);
  }
};

std::string read_line(int fd) {
  std::string s;
  char ch;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') s += ch;
  return s;
}

// For peer scripts: throws (see ScriptedPeer) on a short write.
void write_str(int fd, const std::string& s) {
  if (::send(fd, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size())) {
    throw std::runtime_error("peer: write of " + std::to_string(s.size()) + " bytes failed: " + std::strerror(errno));
  }
}

}  // namespace

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
