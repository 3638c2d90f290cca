// The hashing service: digests as sha256_file gives them, turns between
// connections, cancellation by a connection's token and at shutdown.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "common/sha256.hpp"
#include "daemon/hashing/hasher.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::daemon::CancelSource;
using hs::daemon::CancelToken;
using hs::daemon::Hasher;
using hs::test::TempDir;
using namespace std::chrono_literals;

namespace {

// Collects Done calls, in the order they come, from the worker threads.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::optional<Hasher::Digests>>> done;

  Hasher::Done slot(int tag) {
    return [this, tag](std::optional<Hasher::Digests> d) {
      std::lock_guard lk(mu);
      done.emplace_back(tag, std::move(d));
      cv.notify_all();
    };
  }
  // Generous: a loaded machine.
  bool wait_for(size_t n, std::chrono::seconds limit = 60s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return done.size() >= n; });
  }
};

// Far too big to hash in a test: sparse, so it costs no disk.
std::string huge_file(const TempDir& dir) {
  std::string path = dir / "huge";
  hs::test::spit(path, "");
  REQUIRE(::truncate(path.c_str(), off_t{1} << 40) == 0);
  return path;
}

}  // namespace

TEST_CASE("hasher: digests in order, as sha256_file gives them, whatever the chunk", "[hasher]") {
  TempDir dir;
  hs::test::spit(dir / "a", std::string(100000, 'a'));
  hs::test::spit(dir / "b", "");
  ::mkdir((dir / "d").c_str(), 0700);
  std::vector<std::string> paths = {dir / "a", dir / "missing", dir / "b", dir / "d", dir / "a"};
  for (size_t chunk : {size_t{7}, size_t{4096}, Hasher::kDefaultChunk}) {
    INFO("chunk " << chunk);
    Results r;
    {
      Hasher h(2, chunk);
      h.submit(CancelToken(), paths, r.slot(0));
      REQUIRE(r.wait_for(1));
    }
    REQUIRE(r.done[0].second);
    const auto& d = *r.done[0].second;
    REQUIRE(d.size() == paths.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      auto want = hs::sha256_file(paths[i]);
      REQUIRE(bool(d[i]) == bool(want));
      if (want) {
        CHECK(*d[i] == *want);
      } else {
        CHECK(d[i].error().sys_errno == want.error().sys_errno);
      }
    }
  }
}

TEST_CASE("hasher: a huge job does not starve another connection's small one", "[hasher]") {
  TempDir dir;
  const std::string huge = huge_file(dir);
  hs::test::spit(dir / "small", "hello\n");
  CancelSource hog, other;
  Results r;
  Hasher h(1, 64 * 1024);  // one worker: the turns alone make it fair
  h.submit(hog.token(), {huge}, r.slot(1));
  h.submit(hog.token(), {huge}, r.slot(2));
  std::this_thread::sleep_for(50ms);
  h.submit(other.token(), {dir / "small"}, r.slot(3));
  REQUIRE(r.wait_for(1));
  CHECK(r.done[0].first == 3);
  REQUIRE(r.done[0].second);
  CHECK(*(*r.done[0].second)[0] == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  hog.cancel();
  REQUIRE(r.wait_for(3));
  CHECK_FALSE(r.done[1].second);
  CHECK_FALSE(r.done[2].second);
}

TEST_CASE("hasher: a cancelled connection's jobs end, another's go on", "[hasher]") {
  TempDir dir;
  const std::string huge = huge_file(dir);
  hs::test::spit(dir / "small", "x");
  CancelSource gone, stays;
  Results r;
  Hasher h(2);
  h.submit(gone.token(), {huge, dir / "small"}, r.slot(1));
  h.submit(stays.token(), {dir / "small"}, r.slot(2));
  REQUIRE(r.wait_for(1));
  gone.cancel();
  REQUIRE(r.wait_for(2));
  for (auto& [tag, d] : r.done) CHECK(bool(d) == (tag == 2));
}

TEST_CASE("hasher: cancel_all ends every job, running, queued or later", "[hasher]") {
  TempDir dir;
  const std::string huge = huge_file(dir);
  Results r;
  Hasher h(2);
  for (int i = 0; i < 5; ++i) h.submit(CancelToken(), {huge}, r.slot(i));
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  h.cancel_all();
  REQUIRE(r.wait_for(5));
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // a chunk each, not a terabyte
  h.submit(CancelToken(), {dir / "nothing"}, r.slot(5));
  REQUIRE(r.wait_for(6));
  for (auto& [tag, d] : r.done) CHECK_FALSE(d);
}

TEST_CASE("hasher: destruction answers every job", "[hasher]") {
  TempDir dir;
  const std::string huge = huge_file(dir);
  Results r;
  {
    Hasher h(1);
    for (int i = 0; i < 3; ++i) h.submit(CancelToken(), {huge}, r.slot(i));
  }
  CHECK(r.done.size() == 3);
}

TEST_CASE("hasher: one connection's jobs finish in the order it sent them", "[hasher]") {
  TempDir dir;
  hs::test::spit(dir / "big", std::string(200000, 'b'));
  hs::test::spit(dir / "small", "s");
  CancelSource conn;
  Results r;
  Hasher h(2, 4096);  // two workers, but one connection gets one at a time
  h.submit(conn.token(), {dir / "big"}, r.slot(1));
  h.submit(conn.token(), {dir / "small"}, r.slot(2));
  h.submit(conn.token(), {dir / "big", dir / "small"}, r.slot(3));
  REQUIRE(r.wait_for(3));
  for (int i = 0; i < 3; ++i) {
    CHECK(r.done[i].first == i + 1);
    CHECK(r.done[i].second);
  }
}
