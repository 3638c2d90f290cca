// Durable replacement: mode, no temp files left, and real failures that
// leave the old file byte-identical.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/durable_file.hpp"
#include "tests/catch.hpp"
#include "tests/support/fsize_limit.hpp"
#include "tests/support/test_support.hpp"

using hs::test::TempDir;

TEST_CASE("replace_file_durably writes the content with mode 0600 and no temp left", "[durable]") {
  TempDir dir;
  const std::string path = dir / "state.json";
  REQUIRE(hs::replace_file_durably(path, "first\n"));
  CHECK(hs::test::slurp(path) == "first\n");
  CHECK(hs::test::mode_of(path) == 0600);
  REQUIRE(hs::replace_file_durably(path, "second\n"));
  CHECK(hs::test::slurp(path) == "second\n");
  CHECK(hs::test::list(dir.path()) == "state.json\n");
}

TEST_CASE("a write past RLIMIT_FSIZE fails and leaves the old file", "[durable]") {
  TempDir dir;
  const std::string path = dir / "state.json";
  REQUIRE(hs::replace_file_durably(path, "old content\n"));
  hs::Status s;
  {
    hs::test::FsizeLimit limit(64);
    s = hs::replace_file_durably(path, std::string(4096, 'x'));
  }
  REQUIRE_FALSE(s);
  CHECK(s.error().sys_errno == EFBIG);
  CHECK(s.error().op == "write");
  CHECK(s.error().path.rfind(dir / "state.json.tmp.", 0) == 0);
  CHECK(hs::test::slurp(path) == "old content\n");
  CHECK(hs::test::list(dir.path()) == "state.json\n");
}

TEST_CASE("a failed rename removes the temp file", "[durable]") {
  TempDir dir;
  // A non-empty directory cannot be replaced by a file: rename fails for real.
  const std::string path = dir / "state.json";
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  hs::test::spit(path + "/keep", "x");
  auto s = hs::replace_file_durably(path, "new\n");
  REQUIRE_FALSE(s);
  CHECK(s.error().sys_errno == EISDIR);
  CHECK(s.error().message().find("rename") != std::string::npos);
  CHECK(hs::test::list(dir.path()) == "state.json\n");
}

TEST_CASE("an unwritable directory fails with EACCES, old file intact", "[durable]") {
  TempDir dir;
  const std::string path = dir / "state.json";
  REQUIRE(hs::replace_file_durably(path, "old\n"));
  REQUIRE(::chmod(dir.path().c_str(), 0555) == 0);
  // Root ignores directory permissions, so the attempt runs in a child that
  // drops to an unprivileged uid first; a normal user needs no child.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(100);
    auto s = hs::replace_file_durably(path, "new\n");
    ::_exit(s ? 0 : (s.error().sys_errno == EACCES ? 1 : 2));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  ::chmod(dir.path().c_str(), 0700);
  CHECK(hs::test::slurp(path) == "old\n");
  CHECK(hs::test::list(dir.path()) == "state.json\n");
}
