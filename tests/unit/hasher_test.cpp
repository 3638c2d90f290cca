// The hashing service: digests as sha256_file gives them, turns between
// connections, cancellation by a connection's token and at shutdown.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <optional>
#include <vector>

#include "common/sha256.hpp"
#include "daemon/hashing/hasher.hpp"
#include "daemon/hashing/stat_cache.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::CancelSource;
using hs::CancelToken;
using hs::daemon::hashing::Hasher;
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

// One answer at a time from a worker thread: `slot()` is the Done,
// `take()` waits for the answer and makes room for the next.
template <class T>
struct OneAnswer {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::optional<T>> got;

  std::function<void(std::optional<T>)> slot() {
    return [this](std::optional<T> answer) {
      std::lock_guard lk(mu);
      got = std::move(answer);
      cv.notify_all();
    };
  }
  std::optional<T> take() {
    std::unique_lock lk(mu);
    REQUIRE(cv.wait_for(lk, 60s, [&] { return got.has_value(); }));
    auto o = std::move(*got);
    got.reset();
    return o;
  }
};

// `d` is what sha256_file gives for each of `paths`: the digest, or an
// error with the same errno.
void check_digests(const std::vector<std::string>& paths, const Hasher::Digests& d) {
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
    check_digests(paths, *r.done[0].second);
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
  Hasher h(2, 4096);
  h.submit(conn.token(), {dir / "big"}, r.slot(1));
  h.submit(conn.token(), {dir / "small"}, r.slot(2));
  h.submit(conn.token(), {dir / "big", dir / "small"}, r.slot(3));
  REQUIRE(r.wait_for(3));
  for (int i = 0; i < 3; ++i) {
    CHECK(r.done[i].first == i + 1);
    CHECK(r.done[i].second);
  }
}

TEST_CASE("hasher: one request's files are hashed by several workers at once", "[hasher]") {
  TempDir dir;
  // Two files far too big to finish: each worker takes one, in slices.
  const std::string a = huge_file(dir);
  const std::string b = dir / "huge2";
  hs::test::spit(b, "");
  REQUIRE(::truncate(b.c_str(), off_t{1} << 40) == 0);
  CancelSource conn;
  Results r;
  Hasher h(2, 64 * 1024);
  h.submit(conn.token(), {a, b}, r.slot(1));
  // Both workers end up in the one request (no sleep decides it: wait).
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (h.peak_parallel() < 2 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  CHECK(h.peak_parallel() == 2);
  conn.cancel();
  REQUIRE(r.wait_for(1));
  CHECK_FALSE(r.done[0].second);
}

TEST_CASE("hasher: many small files of one request, two workers: every digest right, in order", "[hasher]") {
  TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 500; ++i) {
    paths.push_back(dir / ("f" + std::to_string(i)));
    if (i % 7 != 3) hs::test::spit(paths.back(), std::string(static_cast<size_t>(i) * 37, static_cast<char>('a' + i % 26)));
  }
  Results r;
  Hasher h(2, 4096);
  h.submit(CancelToken(), paths, r.slot(0));
  REQUIRE(r.wait_for(1));
  REQUIRE(r.done[0].second);
  check_digests(paths, *r.done[0].second);
}

TEST_CASE("hasher: a stat probe matches an unchanged file without reading it, and not a changed one",
          "[hasher][stat_cache]") {
  TempDir dir;
  const std::string f = dir / "f";
  hs::test::spit(f, "same size 1");
  auto before = hs::FileStat::of_path(f);
  REQUIRE(before);
  OneAnswer<Hasher::Outcomes> answer;
  Hasher h(2);
  h.submit_checked(nullptr, CancelToken(), {{f, before}, {dir / "missing", before}, {f, std::nullopt}}, answer.slot());
  auto o = answer.take();
  REQUIRE(o);
  REQUIRE(o->size() == 3);
  CHECK((*o)[0].matched);
  CHECK_FALSE((*o)[1].matched);
  REQUIRE_FALSE((*o)[1].digest);
  CHECK((*o)[1].digest.error().sys_errno == ENOENT);
  CHECK_FALSE((*o)[2].matched);
  REQUIRE((*o)[2].digest);
  CHECK(*(*o)[2].digest == *hs::sha256_file(f));
  REQUIRE((*o)[2].stat);
  CHECK(*(*o)[2].stat == *before);
  CHECK((*o)[2].racy);  // written just now

  // A same-size edit within the same second: the stat differs (ctime at least).
  hs::test::spit(f, "same size 2");
  h.submit_checked(nullptr, CancelToken(), {{f, before}}, answer.slot());
  o = answer.take();
  REQUIRE(o);
  CHECK_FALSE((*o)[0].matched);
  CHECK(*(*o)[0].digest == *hs::sha256_file(f));
}

TEST_CASE("hasher: stat checks answer whether every file still has the stat given", "[hasher]") {
  TempDir dir;
  // Many ranges of checks over several directories, so that both workers
  // take some and a difference can be in any of them.
  constexpr size_t kFiles = 1500;
  std::vector<std::string> paths;
  for (size_t i = 0; i < kFiles; ++i) {
    const std::string sub = dir / ("d" + std::to_string(i % 7));
    ::mkdir(sub.c_str(), 0700);
    paths.push_back(sub + "/f" + std::to_string(i));
    hs::test::spit(paths.back(), "x");
  }
  std::vector<hs::FileStat> stats(kFiles);
  auto probes = std::make_shared<Hasher::StatProbes>();
  for (size_t i = 0; i < kFiles; ++i) probes->push_back({&paths[i], &stats[i]});
  auto restat = [&] {
    for (size_t i = 0; i < kFiles; ++i) {
      auto st = hs::FileStat::of_path(paths[i]);
      REQUIRE(st);
      stats[i] = *st;
    }
  };

  OneAnswer<bool> answer;
  Hasher h(2);
  auto ask = [&](const void* owner, CancelToken cancel, std::shared_ptr<const Hasher::StatProbes> ps) {
    h.submit_stats(owner, std::move(cancel), std::move(ps), answer.slot());
    return answer.take();
  };

  restat();
  CHECK(ask(nullptr, CancelToken(), probes) == std::optional<bool>(true));
  CHECK(ask(nullptr, CancelToken(), std::make_shared<Hasher::StatProbes>()) == std::optional<bool>(true));

  // One difference, early or in the last range: a size change, a file
  // replaced by rename (another inode), a file deleted.
  for (size_t at : {size_t{3}, kFiles - 2}) {
    INFO("file " << at);
    hs::test::spit(paths[at], "longer");
    CHECK(ask(nullptr, CancelToken(), probes) == std::optional<bool>(false));
    restat();
    hs::test::spit(paths[at] + ".new", "x");
    REQUIRE(::rename((paths[at] + ".new").c_str(), paths[at].c_str()) == 0);
    CHECK(ask(nullptr, CancelToken(), probes) == std::optional<bool>(false));
    restat();
    REQUIRE(::unlink(paths[at].c_str()) == 0);
    CHECK(ask(nullptr, CancelToken(), probes) == std::optional<bool>(false));
    hs::test::spit(paths[at], "x");
    restat();
    CHECK(ask(nullptr, CancelToken(), probes) == std::optional<bool>(true));
  }

  // A cancelled connection gets nullopt.
  CancelSource gone;
  gone.cancel();
  CHECK(ask(&gone, gone.token(), probes) == std::nullopt);
}

TEST_CASE("stat cache: a file older than the racy margin is trusted by its stat", "[hasher][stat_cache]") {
  TempDir dir;
  const std::string f = dir / "f";
  hs::test::spit(f, "old");
  auto st = hs::FileStat::of_path(f);
  REQUIRE(st);
  const int64_t now = st->ctime_ns;
  CHECK(hs::daemon::hashing::racy(*st, now));
  CHECK(hs::daemon::hashing::racy(*st, now + hs::daemon::hashing::kRacyMarginNs));
  CHECK_FALSE(hs::daemon::hashing::racy(*st, now + hs::daemon::hashing::kRacyMarginNs + 1));

  hs::daemon::hashing::StatCache cache;
  cache.put(f, {*st, "d", 7, false});
  REQUIRE(cache.find(f));
  const auto held = *cache.find(f);
  CHECK(held->watch_gen == 7);
  cache.vouch(f, held, 9);
  CHECK((*cache.find(f))->watch_gen == 9);
  // Replaced meanwhile: the entry vouched for goes back in, as of its generation.
  cache.put(f, {*st, "other", 8, true});
  cache.vouch(f, held, 10);
  CHECK((*cache.find(f))->digest == "d");
  CHECK((*cache.find(f))->watch_gen == 10);
  cache.erase(f);
  CHECK(cache.find(f) == nullptr);
}
