// The inotify backend's sync cookie file (daemon/watch/cookie_file.hpp):
// the memfd and the unlinked temp file that stands in for it where memfd
// is missing. Both are checked on every build, with real inotify where
// the build has it: the fallback is what inotify without memfd would use.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/platform.hpp"
#include "daemon/watch/cookie_file.hpp"
#include "tests/catch.hpp"

#if HS_HAVE_INOTIFY
#include <poll.h>
#include <sys/inotify.h>

#include <cstring>
#endif

using hs::daemon::watch::cookie_file;
using hs::daemon::watch::unlinked_temp_file;

namespace {

void check_cookie(const hs::UniqueFd& fd) {
  REQUIRE(fd.valid());
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_nlink == 0);  // no name: nobody else can touch it, nothing to clean up
  CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
#if HS_HAVE_INOTIFY
  // What InotifyBackend does with it: watched through /proc/self/fd, and a
  // futimens is an IN_ATTRIB on that watch.
  int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(in >= 0);
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  int wd = ::inotify_add_watch(in, self.c_str(), IN_ATTRIB);
  REQUIRE(wd >= 0);
  REQUIRE(::futimens(fd.get(), nullptr) == 0);
  pollfd p{in, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);
  alignas(inotify_event) char buf[4096];
  ssize_t n = ::read(in, buf, sizeof buf);
  REQUIRE(n >= static_cast<ssize_t>(sizeof(inotify_event)));
  inotify_event ev;
  std::memcpy(&ev, buf, sizeof ev);
  CHECK(ev.wd == wd);
  CHECK((ev.mask & IN_ATTRIB) != 0);
  ::close(in);
#else
  CHECK(::futimens(fd.get(), nullptr) == 0);
#endif
}

}  // namespace

TEST_CASE("cookie_file: a nameless private file whose touch the watch sees") {
  auto fd = cookie_file();
  REQUIRE(fd);
  check_cookie(*fd);
}

TEST_CASE("cookie_file: the unlinked temp file that stands in for memfd") {
  auto fd = unlinked_temp_file();
  REQUIRE(fd);
  check_cookie(*fd);
}
