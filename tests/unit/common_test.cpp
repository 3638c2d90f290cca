// Timestamps, state dir resolution, the error type and HS_TRY_ASSIGN, and
// the path and stat helpers of common/fs and common/file_stat.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/file_stat.hpp"
#include "common/fs.hpp"
#include "common/instance_lock.hpp"
#include "common/real_path.hpp"
#include "common/result.hpp"
#include "common/sha256.hpp"
#include "common/socket_path.hpp"
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

TEST_CASE("home dir is Python's Path.home(): $HOME when set, trailing slashes dropped", "[state_dir]") {
  {
    EnvVar h("HOME", "/home/u//");
    CHECK(*hs::home_dir() == "/home/u");
  }
  {
    EnvVar h("HOME", "");  // set but empty: Python makes it "/"
    CHECK(*hs::home_dir() == "/");
  }
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

TEST_CASE("ensure_state_dir accepts 0755 and refuses group/other-writable dirs", "[state_dir]") {
  TempDir root;
  const std::string dir = root / "state";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);  // as HarnessSync makes ~/.harnesssync
  CHECK(hs::ensure_state_dir(dir));
  CHECK(hs::test::mode_of(dir) == 0755);  // left as it is
  for (mode_t bad : {mode_t{0775}, mode_t{0757}, mode_t{0720}, mode_t{01777}}) {
    REQUIRE(::chmod(dir.c_str(), bad) == 0);
    auto s = hs::ensure_state_dir(dir);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == hs::Errc::unsafe_state_dir);
    const std::string msg = s.error().message();
    INFO(msg);
    CHECK(msg.find(dir) != std::string::npos);
    CHECK(msg.find("owned by uid " + std::to_string(::geteuid())) != std::string::npos);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(bad));
    CHECK(msg.find(std::string("mode ") + mode) != std::string::npos);
  }
}

TEST_CASE("path spelling follows Python's posixpath and pathlib", "[socket_path]") {
  // Expected values from Python 3.11: os.path.normpath, str(PurePosixPath(p)).
  CHECK(hs::normpath("//a//b/./c/") == "//a/b/c");
  CHECK(hs::normpath("///a/../b") == "/b");
  CHECK(hs::normpath("a/../../b") == "../b");
  CHECK(hs::normpath("") == ".");
  CHECK(hs::normpath("/..") == "/");
  CHECK(hs::normpath("a/b/..//") == "a");
  CHECK(hs::pathlib_str("//a//b/./c/") == "//a/b/c");
  CHECK(hs::pathlib_str("///a/../b") == "/a/../b");
  CHECK(hs::pathlib_str("./x/..") == "x/..");
  CHECK(hs::pathlib_str("") == ".");
  CHECK(hs::pathlib_join(".", "x") == "x");
  CHECK(hs::pathlib_join("/tmp/", "x") == "/tmp/x");
  CHECK(hs::pathlib_join("/", "x") == "/x");
}

TEST_CASE("realpath_lenient resolves what exists and keeps the rest", "[socket_path]") {
  TempDir root;
  const std::string real_root = hs::realpath_lenient(root.path());
  REQUIRE(::mkdir((root / "real").c_str(), 0700) == 0);
  REQUIRE(::symlink("real", (root / "link").c_str()) == 0);
  REQUIRE(::symlink("loop", (root / "loop").c_str()) == 0);
  CHECK(hs::realpath_lenient(root / "link") == real_root + "/real");
  CHECK(hs::realpath_lenient(root / "link/missing/x") == real_root + "/real/missing/x");
  CHECK(hs::realpath_lenient(root / "real/../link") == real_root + "/real");
  CHECK(hs::realpath_lenient(root / "loop/x") == real_root + "/loop/x");  // left as Python leaves it
  CHECK(hs::realpath_lenient("/nonexistent-hs-test//state/") == "/nonexistent-hs-test/state");
}

TEST_CASE("socket name: harnesssyncd.sock for the passwd home's ~/.harnesssync, else a hash", "[socket_path]") {
  // Only the passwd entry's ~/.harnesssync, never $HOME's: a process that
  // points HOME elsewhere must not share the user's socket.
  TempDir home;
  EnvVar h("HOME", home.path().c_str());
  const auto passwd = hs::passwd_home();
  REQUIRE(passwd);
  const std::string mine = hs::pathlib_join(*passwd, ".harnesssync");
  CHECK(*hs::socket_name(mine) == "harnesssyncd.sock");
  CHECK(*hs::socket_name(*passwd + "//.harnesssync/") == "harnesssyncd.sock");
  CHECK(*hs::socket_name(home / ".harnesssync") ==
        "harnesssyncd-" + hs::sha256_hex(hs::realpath_lenient(home / ".harnesssync")).substr(0, 16) + ".sock");
  {
    EnvVar unset("HOME", nullptr);
    CHECK(*hs::socket_name(mine) == "harnesssyncd.sock");
  }
  // hashlib.sha256(b"/nonexistent-hs-test/state").hexdigest()[:16]
  CHECK(*hs::socket_name("/nonexistent-hs-test/state") == "harnesssyncd-fce487811c34f6a2.sock");
  CHECK(*hs::socket_name("/nonexistent-hs-test/./state/") == "harnesssyncd-fce487811c34f6a2.sock");
  REQUIRE(::mkdir((home / "real").c_str(), 0700) == 0);
  REQUIRE(::symlink("real", (home / "link").c_str()) == 0);
  CHECK(*hs::socket_name(home / "link") == *hs::socket_name(home / "real"));
  CHECK(*hs::socket_name(home / "link") != *hs::socket_name(home / "other"));
  // A symlink to the passwd home's ~/.harnesssync is that state dir too.
  REQUIRE(::symlink(mine.c_str(), (home / "alias").c_str()) == 0);
  CHECK(*hs::socket_name(home / "alias") == "harnesssyncd.sock");
}

TEST_CASE("socket path: flag, env, then the runtime dir rule", "[socket_path]") {
  TempDir tmp;
  EnvVar h("HOME", tmp.path().c_str());
  EnvVar sock("HARNESSSYNC_SOCKET", nullptr);
  const std::string state = hs::pathlib_join(*hs::passwd_home(), ".harnesssync");  // only computed, never made
  {
    EnvVar xdg("XDG_RUNTIME_DIR", (tmp.path() + "/run/").c_str());
    CHECK(*hs::resolve_socket_path(std::string("/f.sock"), state) == "/f.sock");
    CHECK(*hs::resolve_socket_path(std::nullopt, state) == tmp / "run/harnesssync/harnesssyncd.sock");
    EnvVar s("HARNESSSYNC_SOCKET", "/e.sock");
    CHECK(*hs::resolve_socket_path(std::nullopt, state) == "/e.sock");
    CHECK(*hs::resolve_socket_path(std::string(""), state) == "/e.sock");
  }
  EnvVar xdg("XDG_RUNTIME_DIR", "");  // empty counts as unset
  EnvVar tmpdir("TMPDIR", (tmp.path() + "//").c_str());
  const std::string run = tmp / ("harnesssync-" + std::to_string(::geteuid()));
  CHECK(*hs::runtime_dir(false) == run);
  CHECK_FALSE(hs::test::exists(run));  // not made without `create`
  CHECK(*hs::resolve_socket_path(std::nullopt, state) == run + "/harnesssync/harnesssyncd.sock");
  CHECK(hs::test::mode_of(run) == 0700);
  REQUIRE(::chmod(run.c_str(), 0755) == 0);
  auto bad = hs::resolve_socket_path(std::nullopt, state);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == hs::Errc::unsafe_socket_dir);
  CHECK(bad.error().message() == "runtime dir " + run + ": is mode 0755 owned by uid " +
                                     std::to_string(::geteuid()) + "; it must be 0700 and owned by uid " +
                                     std::to_string(::geteuid()));
  REQUIRE(::rmdir(run.c_str()) == 0);
  hs::test::spit(run, "x");
  auto file = hs::runtime_dir(true);
  REQUIRE_FALSE(file);
  CHECK(file.error().message().find("is not a directory") != std::string::npos);
}

TEST_CASE("socket path longer than sun_path is an error that says so", "[socket_path]") {
  const std::string longer(hs::max_socket_path() + 1, 'x');
  auto r = hs::resolve_socket_path("/" + longer, "/s");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == hs::Errc::invalid_argument);
  CHECK(r.error().message().find("longer than the " + std::to_string(hs::max_socket_path())) != std::string::npos);
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

namespace {

hs::Result<int> parsed(bool ok) {
  if (!ok) return hs::invalid_argument("n", "not a number");
  return 42;
}

// Doubles what parsed() yields; `reached` tells whether it got past the macro.
hs::Result<int> doubled(bool ok, bool& reached) {
  HS_TRY_ASSIGN(const int n, parsed(ok));
  reached = true;
  return n * 2;
}

hs::Result<std::string> moved_through(hs::Result<std::string> in) {
  HS_TRY_ASSIGN(std::string s, std::move(in));
  HS_TRY_ASSIGN(auto again, hs::Result<std::string>(s + "!"));  // two on one function: distinct temporaries
  return again;
}

}  // namespace

TEST_CASE("HS_TRY_ASSIGN yields the value, or returns the error from the caller", "[error]") {
  bool reached = false;
  auto good = doubled(true, reached);
  REQUIRE(good);
  CHECK(*good == 84);
  CHECK(reached);

  reached = false;
  auto bad = doubled(false, reached);
  REQUIRE_FALSE(bad);
  CHECK_FALSE(reached);  // returned at the macro
  CHECK(bad.error().code == hs::Errc::invalid_argument);
  CHECK(bad.error().field == "n");

  CHECK(*moved_through(std::string("x")) == "x!");
  CHECK(moved_through(hs::os_error("open", "/p", ENOENT)).error().path == "/p");
}

TEST_CASE("fs::split and fs::join: dirname and basename, and back", "[fs]") {
  using P = std::pair<std::string, std::string>;
  CHECK(hs::fs::split("a/b/c") == P{"a/b", "c"});
  CHECK(hs::fs::split("/c") == P{"/", "c"});
  CHECK(hs::fs::split("c") == P{".", "c"});
  CHECK(hs::fs::split("/") == P{"/", ""});
  CHECK(hs::fs::split("/run/user/1000/harnesssync/hs.sock") == P{"/run/user/1000/harnesssync", "hs.sock"});
  CHECK(hs::fs::join("/", "x") == "/x");
  CHECK(hs::fs::join("/a", "x") == "/a/x");
  CHECK(hs::fs::join("/a/", "x") == "/a/x");
}

TEST_CASE("fs::octal: the permission bits as four digits", "[fs]") {
  CHECK(hs::fs::octal(0700) == "0700");
  CHECK(hs::fs::octal(S_IFDIR | 0755) == "0755");
  CHECK(hs::fs::octal(S_IFREG | S_ISVTX | 0777) == "1777");
}

TEST_CASE("file stat: one identity for a file, and a missing one told apart", "[fs]") {
  TempDir dir;
  const std::string f = dir / "f";
  auto missing = hs::stat_if_exists(f);
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
  CHECK(hs::describe(*missing) == "missing");
  hs::test::spit(f, "12345");
  auto st = hs::stat_if_exists(f);
  REQUIRE(st);
  REQUIRE(st->has_value());
  CHECK((*st)->size == 5);
  CHECK(*st != *missing);
  CHECK(**st == *hs::FileStat::of_path(f));
  CHECK((*st)->describe().find("5 bytes") != std::string::npos);
  // Another error than ENOENT is an error, naming the path.
  auto through_file = hs::stat_if_exists(f + "/x");
  REQUIRE_FALSE(through_file);
  CHECK(through_file.error().sys_errno == ENOTDIR);
  CHECK(through_file.error().path == f + "/x");
}
