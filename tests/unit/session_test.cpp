// The connection layer over real sockets: a Session on one end of a
// socketpair, a plain blocking client on the other.
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <stdexcept>
#include <string>

#include "daemon/rpc/context.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/net/conn_resources.hpp"
#include "daemon/sequencer/sequencer.hpp"
#include "daemon/net/session.hpp"
#include "daemon/net/co_spawn_logged.hpp"
#include "tests/catch.hpp"
#include "tests/support/context_rig.hpp"

namespace asio = boost::asio;
using namespace hs::daemon::net;

namespace {

struct Rig : hs::test::ContextRig {
  bool closed = false;
  int peer = -1;
  std::shared_ptr<Session> session;

  Rig() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    peer = sv[1];
    asio::local::stream_protocol::socket sock(io, asio::local::stream_protocol(), sv[0]);
    session = std::make_shared<Session>(std::move(sock), 1, limits, on_frame(), [this](uint64_t) { closed = true; });
    session->start();
  }
  ~Rig() {
    if (peer >= 0) ::close(peer);
  }
  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) io.run_for(std::chrono::milliseconds(5));
  }
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(peer, buf, sizeof buf);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

asio::awaitable<void> throws() {
  throw std::runtime_error("boom");
  co_return;
}

}  // namespace

TEST_CASE("spawn_logged: an exception out of a coroutine runs on_failure", "[daemon]") {
  asio::io_context io;
  int failures = 0;
  spawn_logged(io, throws(), "test loop", [&] { ++failures; });
  spawn_logged(io, [] { return throws(); }, "test loop 2", [&] { ++failures; });
  io.run();
  CHECK(failures == 2);
}

TEST_CASE("session: a resource held by the connection is released when the client goes away", "[daemon]") {
  Rig rig;
  int released = 0;
  REQUIRE(rig.session->resources().hold("lock:a", [&] { ++released; }));
  REQUIRE(rig.session->resources().hold("sub:b", [&] { ++released; }));
  CHECK(rig.session->resources().drop("sub:b"));
  CHECK(released == 1);
  // The client dies without a word (what SIGKILL does to its socket).
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    _exit(0);
  }
  ::close(rig.peer);  // the only copy left is the child's
  rig.peer = -1;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  rig.run_until([&] { return rig.closed; });
  CHECK(rig.closed);
  CHECK(released == 2);
  CHECK_FALSE(rig.session->resources().hold("lock:c", [] {}));  // nothing is held past the end
}

TEST_CASE("session: end of input answers what was received, then closes", "[daemon]") {
  Rig rig;
  const std::string reqs = R"({"jsonrpc":"2.0","id":1,"method":"daemon.ping"})"
                           "\n"
                           R"([{"jsonrpc":"2.0","id":2,"method":"state.all"},{"jsonrpc":"2.0","id":3,"method":"daemon.ping"}])"
                           R"({"jsonrpc":"2.0","id":4,"method":"daemon.ping"})";  // no newline at the end
  REQUIRE(::write(rig.peer, reqs.data(), reqs.size()) == static_cast<ssize_t>(reqs.size()));
  ::shutdown(rig.peer, SHUT_WR);
  rig.run_until([&] { return rig.closed; });
  CHECK(rig.closed);
  std::string out = rig.read_all();
  std::vector<boost::json::value> msgs;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    msgs.push_back(boost::json::parse(out.substr(start, nl - start)));
  }
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1].as_array().size() == 2);
  CHECK(msgs[2].at("id") == 4);
}

namespace {

std::string record_note(int i) {
  return R"({"jsonrpc":"2.0","method":"state.record","params":{"target":"t)" + std::to_string(i) +
         R"(","scope":"all","file_hashes":{},"synced":1,"skipped":0,"failed":0}})"
         "\n";
}

size_t recorded(const hs::daemon::store::StateStore& s, int n) {
  size_t found = 0;
  for (int i = 0; i < n; ++i) found += s.find_entry({"t" + std::to_string(i), std::nullopt}) != nullptr ? 1 : 0;
  return found;
}

}  // namespace

TEST_CASE("session: a client that hangs up has every message it sent handled, after an undeliverable answer",
          "[daemon]") {
  // PROTOCOL.md, "Hang-up": the ping's answer meets a closed peer (EPIPE),
  // which ends the output and never the input.
  Rig rig;
  std::string msgs = R"({"jsonrpc":"2.0","id":1,"method":"daemon.ping"})"
                     "\n"
                     "{not json}\n";
  for (int i = 0; i < 50; ++i) msgs += record_note(i);
  REQUIRE(::write(rig.peer, msgs.data(), msgs.size()) == static_cast<ssize_t>(msgs.size()));
  ::close(rig.peer);
  rig.peer = -1;
  rig.run_until([&] { return rig.closed && recorded(*rig.store, 50) == 50; });
  CHECK(rig.closed);
  CHECK(recorded(*rig.store, 50) == 50);
}

TEST_CASE("session: the hang-up releases what the connection holds before its last message is read",
          "[daemon]") {
  Rig rig;
  int released = 0;
  REQUIRE(rig.session->resources().hold("lock:a", [&] { ++released; }));
  CHECK_FALSE(rig.session->holds_nothing());
  // An answer the client will never read, then the hang-up.
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"daemon.ping"})"
                           "\n";
  REQUIRE(::write(rig.peer, ping.data(), ping.size()) == static_cast<ssize_t>(ping.size()));
  ::close(rig.peer);
  rig.peer = -1;
  rig.run_until([&] { return rig.closed; });
  CHECK(released == 1);
  CHECK(rig.session->resources().released());
  CHECK_FALSE(rig.session->resources().hold("lock:b", [] {}));
}

TEST_CASE("session: holds_nothing is false while a message is unfinished or a resource is held", "[daemon]") {
  Rig rig;
  rig.run_until([&] { return true; });
  CHECK(rig.session->holds_nothing());
  CHECK_FALSE(rig.session->heard_from());
  const std::string half = R"({"jsonrpc":"2.0","id":1,"meth)";
  REQUIRE(::write(rig.peer, half.data(), half.size()) == static_cast<ssize_t>(half.size()));
  rig.run_until([&] { return rig.session->heard_from(); });
  CHECK(rig.session->heard_from());
  CHECK_FALSE(rig.session->holds_nothing());  // a message started
  const std::string rest = R"(od":"daemon.ping"})"
                           "\n";
  REQUIRE(::write(rig.peer, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  std::string got;
  char buf[256];
  for (int i = 0; i < 2000 && got.find('\n') == std::string::npos; ++i) {
    rig.io.run_for(std::chrono::milliseconds(5));
    ssize_t n = ::recv(rig.peer, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  CHECK(got == "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"pong\"}\n");
  rig.run_until([&] { return rig.session->holds_nothing(); });
  CHECK(rig.session->holds_nothing());
  REQUIRE(rig.session->resources().hold("sub:x", [] {}));
  CHECK_FALSE(rig.session->holds_nothing());
}

TEST_CASE("session: answers past the output cap to a client that left do not drop what it sent after",
          "[daemon]") {
  // The batch's answers pass the cap before the first failed write has
  // completed: that is a client gone, not one that does not read.
  Rig rig;
  rig.limits.max_output_bytes = 2000;
  std::string msgs = "[";
  for (int i = 0; i < 30; ++i) {
    msgs += (i ? "," : "") + std::string(R"({"jsonrpc":"2.0","id":)") + std::to_string(i) +
            R"(,"method":"daemon.info"})";
  }
  msgs += "]\n";
  for (int i = 0; i < 10; ++i) msgs += record_note(i);
  REQUIRE(::write(rig.peer, msgs.data(), msgs.size()) == static_cast<ssize_t>(msgs.size()));
  ::close(rig.peer);
  rig.peer = -1;
  rig.run_until([&] { return rig.closed && recorded(*rig.store, 10) == 10; });
  CHECK(rig.closed);
  CHECK(recorded(*rig.store, 10) == 10);
}
