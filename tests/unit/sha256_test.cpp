// SHA-256 of files and bytes, checked against NIST's vectors, coreutils' sha256sum
// and libsodium (the oracle: the build hashes with libcrypto unless
// HS_WITH_OPENSSL=OFF).
#include <fcntl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <cerrno>
#include <optional>
#include <thread>
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
  auto null = hs::FileSha256::open("/dev/null");  // a device: opened harmlessly, refused before any read
  REQUIRE_FALSE(null);
  CHECK(null.error().detail == "not a regular file");
  CHECK(null.error().path == "/dev/null");

  const std::string sock_path = dir / "sock";
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock_path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  auto sock = hs::FileSha256::open(sock_path);
  ::close(s);
  REQUIRE_FALSE(sock);  // open(2) of a socket fails: ENXIO
  CHECK(sock.error().path == sock_path);
}

TEST_CASE("sha256 in pieces reads a regular file blocking, as it was opened to", "[sha256]") {
  TempDir dir;
  hs::test::spit(dir / "f", "content\n");
  auto f = hs::FileSha256::open(dir / "f");
  REQUIRE(f);
  // O_NONBLOCK was only for the open: a FUSE or network file must not answer EAGAIN.
  CHECK((::fcntl(f->fd(), F_GETFL) & O_NONBLOCK) == 0);
}

TEST_CASE("sha256 never makes a terminal the caller's controlling terminal", "[sha256]") {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) {
    WARN("no pseudo-terminals here: not checked");
    return;
  }
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);
  // A session leader with no terminal acquires the first one it opens without
  // O_NOCTTY: the daemon is one (setsid), and would then get its SIGHUPs.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setsid() < 0) ::_exit(2);
    (void)hs::FileSha256::open(slave);  // refused (not a regular file), but opened first
    int tty = ::open("/dev/tty", O_RDONLY | O_NOCTTY);
    ::_exit(tty >= 0 ? 1 : 0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(master);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}


namespace {

// The oracle: libsodium's one-shot SHA-256.
std::string sodium_hex(std::string_view data) {
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

std::string hex(const unsigned char (&d)[hs::kSha256Bytes]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The digest of `path` read by FileSha256 through a buffer of `buffer`
// bytes, `piece` bytes per step.
std::string in_steps(const std::string& path, size_t buffer, size_t piece) {
  std::vector<unsigned char> buf(buffer);
  auto f = hs::FileSha256::open(path);
  REQUIRE(f);
  while (!f->done()) REQUIRE(f->step(buf, piece));
  return f->hex();
}

}  // namespace

TEST_CASE("sha256 matches the NIST vectors", "[sha256]") {
  CHECK(hs::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hs::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hs::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hs::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                       "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(hs::sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 of every length up to five blocks, and of random sizes, equals libsodium's", "[sha256]") {
  const std::string data = pattern(5 * 1000 * 1000 + 3);
  const std::string_view all(data);
  for (size_t n = 0; n <= 5 * 64; ++n) {
    INFO("length " << n);
    // At offsets 0 and 1: the input's alignment must not matter.
    CHECK(hs::sha256_hex(all.substr(0, n)) == sodium_hex(all.substr(0, n)));
    CHECK(hs::sha256_hex(all.substr(1, n)) == sodium_hex(all.substr(1, n)));
  }
  uint32_t x = 12345;
  for (int i = 0; i < 12; ++i) {
    x = x * 1103515245u + 12345u;
    const size_t n = x % data.size();
    INFO("length " << n);
    CHECK(hs::sha256_hex(all.substr(0, n)) == sodium_hex(all.substr(0, n)));
  }
}

TEST_CASE("sha256 fed in two updates, split anywhere in four blocks, equals libsodium's", "[sha256]") {
  // Every fill level of the library's partial block, then the rest.
  const std::string data = pattern(4 * 64 + 1);
  const std::string want = sodium_hex(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    INFO("cut " << cut);
    hs::sha256_detail::Hasher h;
    h.update(bytes(data), cut);
    h.update(bytes(data) + cut, data.size() - cut);
    unsigned char d[hs::kSha256Bytes];
    h.final(d);
    CHECK(hex(d) == want);
  }
}

TEST_CASE("sha256 of a file equals libsodium's at every boundary of the reading buffer", "[sha256]") {
  TempDir dir;
  constexpr size_t kBuf = hs::kSha256FileBuffer;
  for (size_t size : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{63}, size_t{64}, size_t{65},
                      size_t{119}, size_t{120}, kBuf - 65, kBuf - 64, kBuf - 1, kBuf, kBuf + 1, kBuf + 64,
                      2 * kBuf - 1, 2 * kBuf, 2 * kBuf + 1, 3 * kBuf + 17}) {
    INFO("size " << size);
    const std::string data = pattern(size);
    hs::test::spit(dir / "f", data);
    auto h = hs::sha256_file(dir / "f");
    REQUIRE(h);
    CHECK(*h == sodium_hex(data));
  }
}

TEST_CASE("sha256 of a file fed in pieces across every block boundary equals libsodium's", "[sha256]") {
  // FileSha256 as the hashing threads use it: their buffer, a budget per
  // step, the file parked between steps.
  TempDir dir;
  for (size_t size : {size_t{0}, size_t{55}, size_t{56}, size_t{64}, size_t{119}, size_t{4097},
                      size_t{1} << 20, (size_t{3} << 20) + 17}) {
    const std::string data = pattern(size);
    hs::test::spit(dir / "f", data);
    const std::string want = sodium_hex(data);
    for (size_t chunk : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{4095}, size_t{1} << 20}) {
      if (chunk < 64 && size > (size_t{1} << 20)) continue;  // minutes of 1-byte reads, no new boundary
      INFO("size " << size << " chunk " << chunk);
      CHECK(in_steps(dir / "f", chunk, chunk) == want);
      // A buffer smaller than a step's budget: several reads per step.
      CHECK(in_steps(dir / "f", chunk, 3 * chunk + 1) == want);
    }
  }
}

TEST_CASE("sha256 hashers start clean whatever hashed before them on the thread", "[sha256]") {
  // One given up half-way (a cancelled hash) must leave nothing behind, in
  // this build or one that reuses contexts.
  const std::string want = sodium_hex("abc");
  for (int i = 0; i < 3; ++i) {
    hs::sha256_detail::Hasher abandoned;
    abandoned.update(bytes("half a file"), 11);
  }
  CHECK(hs::sha256_hex("abc") == want);
  {
    hs::sha256_detail::Hasher finished;
    finished.update(bytes("one file"), 8);
    unsigned char d[hs::kSha256Bytes];
    finished.final(d);
    CHECK(hex(d) == sodium_hex("one file"));
  }
  CHECK(hs::sha256_hex("abc") == want);
}

TEST_CASE("sha256 of a file moved between hashers and threads mid-way is the digest of the whole", "[sha256]") {
  // The hashing threads park a file between slices, and another thread may
  // finish it: the hasher's state moves with it.
  TempDir dir;
  const std::string data = pattern(3 * 4096 + 5);
  hs::test::spit(dir / "f", data);
  std::vector<unsigned char> buf(4096);
  auto opened = hs::FileSha256::open(dir / "f");
  REQUIRE(opened);
  std::optional<hs::FileSha256> parked;
  parked.emplace(std::move(*opened));
  REQUIRE(parked->step(buf, 4096));
  std::string got;
  std::thread other([&] {
    hs::FileSha256 file = std::move(*parked);
    parked.reset();
    while (!file.done()) {
      if (!file.step(buf, 100)) return;
    }
    got = file.hex();
  });
  other.join();
  CHECK(got == sodium_hex(data));
  CHECK(hs::sha256_hex(data) == got);
}
