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
