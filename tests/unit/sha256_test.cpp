// SHA-256 of files and bytes, checked against coreutils' sha256sum.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/sha256.hpp"
#include "tests/catch.hpp"
#include "tests/support/test_support.hpp"

using hs::test::TempDir;

namespace {

std::string sha256sum(const std::string& path) {
  std::string out = hs::test::run("sha256sum '" + path + "'");
  return out.substr(0, 64);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

}  // namespace

TEST_CASE("sha256 of bytes matches the known vectors", "[sha256]") {
  CHECK(hs::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hs::sha256_hex("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST_CASE("sha256 of files matches sha256sum", "[sha256]") {
  TempDir dir;
  const size_t sizes[] = {0, 1, 1 << 20, 100u << 20};
  for (size_t n : sizes) {
    INFO("size " << n);
    std::string path = dir / ("f" + std::to_string(n));
    hs::test::spit(path, pattern(n));
    auto h = hs::sha256_file(path);
    REQUIRE(h);
    CHECK(h->size() == 64);
    CHECK(*h == sha256sum(path));
    CHECK(*h == hs::sha256_hex(pattern(n)));
    ::unlink(path.c_str());
  }
}

TEST_CASE("sha256 follows symlinks and reports what it cannot hash", "[sha256]") {
  TempDir dir;
  hs::test::spit(dir / "real", "content\n");
  REQUIRE(::symlink((dir / "real").c_str(), (dir / "link").c_str()) == 0);
  auto via_link = hs::sha256_file(dir / "link");
  REQUIRE(via_link);
  CHECK(*via_link == sha256sum(dir / "real"));

  auto missing = hs::sha256_file(dir / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().sys_errno == ENOENT);
  CHECK(missing.error().path == dir / "missing");

  auto directory = hs::sha256_file(dir.path());
  REQUIRE_FALSE(directory);
  CHECK(directory.error().sys_errno == EISDIR);

  REQUIRE(::symlink((dir / "nowhere").c_str(), (dir / "dangling").c_str()) == 0);
  auto dangling = hs::sha256_file(dir / "dangling");
  REQUIRE_FALSE(dangling);
  CHECK(dangling.error().sys_errno == ENOENT);
}

TEST_CASE("sha256 of a file in pieces of any size is the digest of the whole", "[sha256]") {
  TempDir dir;
  const std::string data = pattern(300 * 1000 + 7);
  hs::test::spit(dir / "f", data);
  const std::string whole = hs::sha256_hex(data);
  std::vector<unsigned char> buf(4096);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536}, size_t{1} << 20}) {
    INFO("piece " << piece);
    auto f = hs::FileSha256::open(dir / "f");
    REQUIRE(f);
    size_t total = 0;
    size_t steps = 0;
    while (!f->done()) {
      auto n = f->step(buf, piece);
      REQUIRE(n);
      CHECK(*n <= piece);
      total += *n;
      ++steps;
    }
    CHECK(total == data.size());
    CHECK(steps >= data.size() / piece);
    CHECK(f->hex() == whole);
  }
}

TEST_CASE("sha256 in pieces refuses what is not a regular file without blocking", "[sha256]") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto fifo = hs::FileSha256::open(dir / "fifo");  // no writer: a blocking open would hang
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error().detail == "not a regular file");
  auto directory = hs::FileSha256::open(dir.path());
  REQUIRE_FALSE(directory);
  CHECK(directory.error().sys_errno == EISDIR);
}

namespace {

std::string sodium_hex(const std::string& data) {
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

// Runs `check` once on the fast path (when this CPU has it) and once forced
// onto libsodium.
template <typename F>
void on_both_paths(F check) {
  for (bool portable : {false, true}) {
    INFO("portable " << portable);
    hs::sha256_detail::force_portable(portable);
    check();
  }
  hs::sha256_detail::force_portable(false);
}

}  // namespace

TEST_CASE("sha256 matches the NIST vectors on both paths", "[sha256]") {
  on_both_paths([] {
    CHECK(hs::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hs::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hs::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hs::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                         "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(hs::sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
}

TEST_CASE("sha256 of every short length and of random sizes equals libsodium's", "[sha256]") {
  const std::string data = pattern(5 * 1000 * 1000 + 3);
  on_both_paths([&] {
    for (size_t n = 0; n <= 300; ++n) {
      INFO("length " << n);
      // An offset of 1 also feeds the fast path unaligned input.
      CHECK(hs::sha256_hex(std::string_view(data).substr(1, n)) == sodium_hex(data.substr(1, n)));
    }
    uint32_t x = 12345;
    for (int i = 0; i < 12; ++i) {
      x = x * 1103515245u + 12345u;
      const size_t n = x % data.size();
      INFO("length " << n);
      CHECK(hs::sha256_hex(std::string_view(data).substr(0, n)) == sodium_hex(data.substr(0, n)));
    }
  });
}

TEST_CASE("sha256 of a file fed in chunks across every block boundary equals libsodium's", "[sha256]") {
  TempDir dir;
  on_both_paths([&] {
    for (size_t size : {size_t{0}, size_t{55}, size_t{56}, size_t{64}, size_t{119}, size_t{4097},
                        size_t{1} << 20, (size_t{3} << 20) + 17}) {
      const std::string data = pattern(size);
      hs::test::spit(dir / "f", data);
      const std::string want = sodium_hex(data);
      for (size_t chunk : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{4095}, size_t{1} << 20}) {
        if (chunk < 64 && size > (size_t{1} << 20)) continue;  // minutes of 1-byte reads, no new boundary
        INFO("size " << size << " chunk " << chunk);
        std::vector<unsigned char> buf(chunk);
        auto f = hs::FileSha256::open(dir / "f");
        REQUIRE(f);
        while (!f->done()) REQUIRE(f->step(buf, chunk));
        CHECK(f->hex() == want);
      }
    }
  });
}

TEST_CASE("sha256 tells whether it can use SHA-NI, and can be forced portable", "[sha256]") {
#if defined(__x86_64__)
  const bool cpu = hs::test::run("grep -c -w sha_ni /proc/cpuinfo || true").substr(0, 1) != "0";
  CHECK(hs::sha256_detail::fast_path_available() == cpu);
#else
  CHECK_FALSE(hs::sha256_detail::fast_path_available());
#endif
  hs::sha256_detail::force_portable(true);
  CHECK_FALSE(hs::sha256_detail::fast_path_available());
  CHECK_FALSE(hs::sha256_detail::Hasher().fast());
  hs::sha256_detail::force_portable(false);
}
