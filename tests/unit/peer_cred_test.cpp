// Peer credentials over a real Unix socket, from a real other process:
// SO_PEERCRED where the build has it, getpeereid(3) (and no pid) where it
// does not (HS_PORTABLE: docs/ARCHITECTURE.md, "Platforms").
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/platform.hpp"
#include "common/unique_fd.hpp"
#include "daemon/net/peer_cred.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::UniqueFd;
using namespace hs::daemon::net;

TEST_CASE("peer_cred: the uid of a connected process, and its pid only where the OS reports one") {
  hs::test::TempDir tmp;
  const std::string path = tmp / "s";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  REQUIRE(listener.valid());
  sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);

  // The child connects and waits until the parent has looked.
  int done[2];
  REQUIRE(::pipe(done) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(done[1]);
    int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(1);
    char b;
    (void)!::read(done[0], &b, 1);
    ::_exit(0);
  }
  ::close(done[0]);
  UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
  REQUIRE(conn.valid());

  CHECK(peer_uid(conn.get()) == static_cast<long>(::geteuid()));
  if (HS_HAVE_SO_PEERCRED) {
    CHECK(peer_pid(conn.get()) == static_cast<long>(child));
  } else {
    CHECK(peer_pid(conn.get()) == -1);  // getpeereid has no pid: unknown, never a guess
  }

  ::close(done[1]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("peer_cred: a descriptor that is not a socket has no peer") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  UniqueFd r(p[0]), w(p[1]);
  CHECK(peer_uid(r.get()) == -1);
  CHECK(peer_pid(r.get()) == -1);
}
