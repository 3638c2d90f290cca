// Timestamps, state dir resolution and the error type.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/instance_lock.hpp"
#include "common/state_dir.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::test::TempDir;

namespace {

// Sets an environment variable for one scope.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvVar() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("ISO timestamps are local, zone-less, with microseconds", "[clock]") {
  EnvVar tz("TZ", "UTC");
  ::tzset();
  auto t = hs::Clock::time_point(std::chrono::microseconds(1795514400123456LL));
  CHECK(hs::iso_local(t) == "2026-11-24T10:00:00.123456");
  CHECK(hs::iso_local(hs::Clock::time_point(std::chrono::seconds(1795514400))) ==
        "2026-11-24T10:00:00.000000");
  CHECK(hs::stamp_local(t) == "20261124_100000");
  {
    EnvVar tz2("TZ", "Asia/Kolkata");  // +05:30
    ::tzset();
    CHECK(hs::iso_local(t) == "2026-11-24T15:30:00.123456");
  }
  ::tzset();
  std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})");
  CHECK(std::regex_match(hs::iso_local(hs::Clock::now()), iso));
}

TEST_CASE("state dir: flag, then HARNESSSYNC_HOME, then ~/.harnesssync", "[state_dir]") {
  TempDir home;
  EnvVar h("HOME", home.path().c_str());
  {
    EnvVar env("HARNESSSYNC_HOME", "/tmp/from-env");
    CHECK(*hs::resolve_state_dir(std::string("/tmp/from-flag")) == "/tmp/from-flag");
    CHECK(*hs::resolve_state_dir(std::nullopt) == "/tmp/from-env");
  }
  {
    EnvVar env("HARNESSSYNC_HOME", nullptr);
    CHECK(*hs::resolve_state_dir(std::nullopt) == home / ".harnesssync");
  }
  {
    EnvVar env("HARNESSSYNC_HOME", "");  // empty counts as unset
    CHECK(*hs::resolve_state_dir(std::nullopt) == home / ".harnesssync");
  }
  CHECK_FALSE(hs::resolve_state_dir(std::string("")));
}

TEST_CASE("ensure_state_dir creates missing dirs 0700 and keeps existing ones", "[state_dir]") {
  TempDir root;
  const std::string dir = root / "a/b/state";
  REQUIRE(hs::ensure_state_dir(dir));
  CHECK(hs::test::mode_of(dir) == 0700);
  CHECK(hs::test::mode_of(root / "a") == 0700);
  REQUIRE(::chmod(dir.c_str(), 0750) == 0);
  REQUIRE(hs::ensure_state_dir(dir));
  CHECK(hs::test::mode_of(dir) == 0750);
  hs::test::spit(root / "file", "x");
  auto s = hs::ensure_state_dir(root / "file");
  REQUIRE_FALSE(s);
  CHECK(s.error().sys_errno == ENOTDIR);
  CHECK(s.error().path == root / "file");
}

TEST_CASE("errors carry operation, path and reason in one line", "[error]") {
  auto e = hs::os_error("open", "/x/state.json", EACCES);
  CHECK(e.message() == "open /x/state.json: Permission denied");
  auto a = hs::invalid_argument("target", "must be 1 to 64 characters");
  CHECK(a.message() == "target: must be 1 to 64 characters");
}

TEST_CASE("each error kind has its own factory", "[error]") {
  auto b = hs::busy("lock", "/r/hs.sock.lock", "another harnesssyncd (pid 7) serves this socket");
  CHECK(b.code == hs::Errc::busy);
  CHECK(b.message() == "lock /r/hs.sock.lock: another harnesssyncd (pid 7) serves this socket");
  CHECK(hs::corrupt("parse", "/s/state.json", "not JSON").code == hs::Errc::corrupt);
  CHECK(hs::unsupported("load", "/s/state.json", "version 3").code == hs::Errc::unsupported);
  auto u = hs::unsafe_socket_dir("/r", "is mode 0755");
  CHECK(u.code == hs::Errc::unsafe_socket_dir);
  CHECK(u.message() == "socket dir /r: is mode 0755");
  auto n = hs::not_regular("open", "/s/state.json", "it is a FIFO");
  CHECK(n.code == hs::Errc::not_regular);
  CHECK(n.message() == "open /s/state.json: it is a FIFO");
}

TEST_CASE("the instance lock names its holder's pid", "[error]") {
  hs::test::TempDir dir;
  const std::string path = dir / "x.lock";
  auto held = hs::InstanceLock::acquire(path, "serves this socket");
  REQUIRE(held);
  CHECK(hs::read_lock_pid(path) == ::getpid());
  // flock locks belong to the open file: a second open in this process conflicts too.
  auto second = hs::InstanceLock::acquire(path, "serves this socket");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == hs::Errc::busy);
  CHECK(second.error().detail == "another harnesssyncd (pid " + std::to_string(::getpid()) + ") serves this socket");
}
