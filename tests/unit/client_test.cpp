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
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/test_support.hpp"

namespace json = boost::json;
using harnesssync::Client;
using harnesssync::ClientOptions;
using harnesssync::Error;
using hs::test::LiveDaemon;

namespace {

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

namespace {

// Answers each request with the result the test gives for its method, and
// records the requests' params.
struct ScriptedAnswers {
  ScriptedPeer peer;
  std::shared_ptr<std::vector<json::object>> seen = std::make_shared<std::vector<json::object>>();
  explicit ScriptedAnswers(std::vector<std::string> results) {
    auto seen_ptr = seen;
    peer.serve([results, seen_ptr](int fd) {
      for (const auto& result : results) {
        std::string line = read_line(fd);
        if (line.empty()) throw std::runtime_error("peer: the client hung up early");
        auto req = json::parse(line).as_object();
        const json::value* p = req.if_contains("params");
        seen_ptr->push_back(p != nullptr ? p->as_object() : json::object{});
        write_str(fd, R"({"jsonrpc":"2.0","id":)" + json::serialize(req.at("id")) + R"(,"result":)" + result + "}\n");
      }
      read_line(fd);  // stay connected until the client hangs up
    });
  }
  Client connect() {
    ClientOptions o;
    o.socket_path = peer.path;
    o.autostart = false;
    auto c = Client::connect(o);
    REQUIRE(c);
    return std::move(*c);
  }
};

}  // namespace

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
