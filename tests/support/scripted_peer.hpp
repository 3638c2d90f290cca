// A scripted peer on a real socket, for what a correct daemon never does
// (stay silent, send notifications, answer out of order, serve another
// state dir): the client library's tests talk to it as to a daemon.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harnesssync/client.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

namespace hs::test {

/// A listening socket whose peer behaviour the test scripts. The script runs
/// on a peer thread, where Catch2's assertions must not be used (they are not
/// thread-safe, and a REQUIRE that throws there calls std::terminate): it
/// throws instead, and the failure is collected and checked on the main thread.
struct ScriptedPeer {
  TempDir dir;
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
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;
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
  /// Options that reach this peer and never start a daemon.
  harnesssync::ClientOptions options() const {
    harnesssync::ClientOptions o;
    o.socket_path = path;
    o.autostart = false;
    return o;
  }
};

/// One line from the client ("" at its end).
inline std::string read_line(int fd) {
  std::string s;
  char ch;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') s += ch;
  return s;
}

/// For peer scripts: throws (see ScriptedPeer) on a short write.
inline void write_str(int fd, const std::string& s) {
  if (::send(fd, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size())) {
    throw std::runtime_error("peer: write of " + std::to_string(s.size()) + " bytes failed: " + std::strerror(errno));
  }
}

/// A result answer to the request `req` (a line the client sent).
inline std::string answer(const std::string& req, const std::string& result_json) {
  return R"({"jsonrpc":"2.0","id":)" + boost::json::serialize(boost::json::parse(req).at("id")) +
         R"(,"result":)" + result_json + "}\n";
}

/// Answers each request in turn with the result the test gives, and records
/// the requests' params.
struct ScriptedAnswers {
  ScriptedPeer peer;
  std::shared_ptr<std::vector<boost::json::object>> seen = std::make_shared<std::vector<boost::json::object>>();
  explicit ScriptedAnswers(std::vector<std::string> results) {
    auto seen_ptr = seen;
    peer.serve([results, seen_ptr](int fd) {
      for (const auto& result : results) {
        std::string line = read_line(fd);
        if (line.empty()) throw std::runtime_error("peer: the client hung up early");
        auto req = boost::json::parse(line).as_object();
        const boost::json::value* p = req.if_contains("params");
        seen_ptr->push_back(p != nullptr ? p->as_object() : boost::json::object{});
        write_str(fd, answer(line, result));
      }
      read_line(fd);  // stay connected until the client hangs up
    });
  }
  harnesssync::Client connect() {
    auto c = harnesssync::Client::connect(peer.options());
    REQUIRE(c);
    return std::move(*c);
  }
};

}  // namespace hs::test
