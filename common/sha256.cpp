#include "common/sha256.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "common/fs.hpp"

namespace hs {
namespace {

void ensure_sodium() {
  // sodium_init is thread-safe and idempotent; a static makes it run once.
  static const int rc = sodium_init();
  if (rc < 0) std::abort();  // libsodium cannot work at all (no entropy source)
}

std::atomic<bool> g_force_portable{false};

constexpr uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#if defined(__x86_64__)

// Round constants (FIPS 180-4, 4.2.2).
alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define HS_SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

HS_SHA_NI inline __m128i load16(const void* p) {
  __m128i v;
  std::memcpy(&v, p, sizeof v);  // unaligned: the caller's buffer has any alignment
  return v;
}

// Four rounds starting at round `i`: `w` holds W[i..i+3] (lowest lane first).
// SHA256RNDS2 does two rounds on (A,B,E,F) and (C,D,G,H) with W+K in the low
// 64 bits of its third operand, and returns the new (A,B,E,F); after two
// rounds the old (A,B,E,F) is the new (C,D,G,H), so the two registers swap
// roles on every instruction.
HS_SHA_NI inline void rounds4(__m128i& abef, __m128i& cdgh, __m128i w, int i) {
  const __m128i wk = _mm_add_epi32(w, load16(kRound + i));
  cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
  abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_unpackhi_epi64(wk, wk));
}

// W[t..t+3] from w16 = W[t-16..t-13], w12 = W[t-12..t-9], w8 = W[t-8..t-5],
// w4 = W[t-4..t-1]: MSG1 adds sigma0 of the next word to each of w16; the
// W[t-7..t-4] term is w8's upper three lanes and w4's lowest; MSG2 adds
// sigma1 of the words two back, including the two it computes itself.
HS_SHA_NI inline __m128i schedule(__m128i w16, __m128i w12, __m128i w8, __m128i w4) {
  __m128i x = _mm_sha256msg1_epu32(w16, w12);
  x = _mm_add_epi32(x, _mm_alignr_epi8(w4, w8, 4));
  return _mm_sha256msg2_epu32(x, w4);
}

HS_SHA_NI void compress_ni(uint32_t (&h)[8], const unsigned char* data, size_t blocks) {
  // Lanes are listed from the highest: (A,B,E,F) has A in lane 3, F in lane 0.
  __m128i abef = _mm_set_epi32(static_cast<int>(h[0]), static_cast<int>(h[1]), static_cast<int>(h[4]),
                               static_cast<int>(h[5]));
  __m128i cdgh = _mm_set_epi32(static_cast<int>(h[2]), static_cast<int>(h[3]), static_cast<int>(h[6]),
                               static_cast<int>(h[7]));
  // Message words are big-endian: reverse the bytes within each 32-bit lane.
  const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  for (; blocks > 0; --blocks, data += 64) {
    const __m128i abef0 = abef;
    const __m128i cdgh0 = cdgh;
    __m128i w0 = _mm_shuffle_epi8(load16(data), bswap);
    __m128i w1 = _mm_shuffle_epi8(load16(data + 16), bswap);
    __m128i w2 = _mm_shuffle_epi8(load16(data + 32), bswap);
    __m128i w3 = _mm_shuffle_epi8(load16(data + 48), bswap);
    rounds4(abef, cdgh, w0, 0);
    rounds4(abef, cdgh, w1, 4);
    rounds4(abef, cdgh, w2, 8);
    rounds4(abef, cdgh, w3, 12);
    for (int i = 16; i < 64; i += 16) {
      w0 = schedule(w0, w1, w2, w3);
      rounds4(abef, cdgh, w0, i);
      w1 = schedule(w1, w2, w3, w0);
      rounds4(abef, cdgh, w1, i + 4);
      w2 = schedule(w2, w3, w0, w1);
      rounds4(abef, cdgh, w2, i + 8);
      w3 = schedule(w3, w0, w1, w2);
      rounds4(abef, cdgh, w3, i + 12);
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
  }
  uint32_t lanes[4];
  std::memcpy(lanes, &abef, sizeof lanes);
  h[0] = lanes[3];
  h[1] = lanes[2];
  h[4] = lanes[1];
  h[5] = lanes[0];
  std::memcpy(lanes, &cdgh, sizeof lanes);
  h[2] = lanes[3];
  h[3] = lanes[2];
  h[6] = lanes[1];
  h[7] = lanes[0];
}

#undef HS_SHA_NI

bool cpu_has_sha_ni() {
  // CPUID, not __builtin_cpu_supports: clang 14 does not know its "sha".
  // SHA-NI (leaf 7 EBX bit 29) plus the SSSE3 (leaf 1 ECX bit 9) and SSE4.1
  // (leaf 1 ECX bit 19) shuffles used around it.
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
    const bool sse = ((c >> 9) & 1) != 0 && ((c >> 19) & 1) != 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
    return sse && ((b >> 29) & 1) != 0;
  }();
  return has;
}

#else

void compress_ni(uint32_t (&)[8], const unsigned char*, size_t) { std::abort(); }
bool cpu_has_sha_ni() { return false; }

#endif

std::string to_hex(const unsigned char (&digest)[crypto_hash_sha256_BYTES]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * crypto_hash_sha256_BYTES, '\0');
  for (size_t i = 0; i < crypto_hash_sha256_BYTES; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

namespace sha256_detail {

void force_portable(bool on) { g_force_portable.store(on); }

bool fast_path_available() { return cpu_has_sha_ni() && !g_force_portable.load(); }

Hasher::Hasher() : fast_(fast_path_available()) {
  ensure_sodium();
  if (fast_) {
    std::memcpy(h_, kInitial, sizeof h_);
  } else {
    crypto_hash_sha256_init(&sodium_);
  }
}

void Hasher::update(const unsigned char* data, size_t size) {
  if (!fast_) {
    crypto_hash_sha256_update(&sodium_, data, static_cast<unsigned long long>(size));
    return;
  }
  if (size == 0) return;  // data may be null then (memcpy must not see it)
  total_len_ += size;
  if (block_len_ > 0) {
    const size_t take = std::min(size, sizeof block_ - block_len_);
    std::memcpy(block_ + block_len_, data, take);
    block_len_ += take;
    data += take;
    size -= take;
    if (block_len_ < sizeof block_) return;
    compress_ni(h_, block_, 1);
    block_len_ = 0;
  }
  const size_t blocks = size / 64;
  if (blocks > 0) compress_ni(h_, data, blocks);
  data += blocks * 64;
  size -= blocks * 64;
  if (size > 0) std::memcpy(block_, data, size);
  block_len_ = size;
}

void Hasher::final(unsigned char (&digest)[crypto_hash_sha256_BYTES]) {
  if (!fast_) {
    crypto_hash_sha256_final(&sodium_, digest);
    return;
  }
  // FIPS 180-4, 5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, the length in
  // bits as a big-endian 64-bit number.
  const uint64_t bits = total_len_ * 8;
  unsigned char tail[128] = {};
  std::memcpy(tail, block_, block_len_);
  tail[block_len_] = 0x80;
  const size_t tail_len = block_len_ + 1 + 8 <= 64 ? 64 : 128;
  for (size_t i = 0; i < 8; ++i) tail[tail_len - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  compress_ni(h_, tail, tail_len / 64);
  for (size_t i = 0; i < 8; ++i) {
    digest[4 * i] = static_cast<unsigned char>(h_[i] >> 24);
    digest[4 * i + 1] = static_cast<unsigned char>(h_[i] >> 16);
    digest[4 * i + 2] = static_cast<unsigned char>(h_[i] >> 8);
    digest[4 * i + 3] = static_cast<unsigned char>(h_[i]);
  }
  block_len_ = 0;
}

}  // namespace sha256_detail

std::string sha256_hex(std::string_view data) {
  sha256_detail::Hasher hasher;
  hasher.update(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  unsigned char digest[crypto_hash_sha256_BYTES];
  hasher.final(digest);
  return to_hex(digest);
}

FileSha256::FileSha256(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

Result<FileSha256> FileSha256::open(const std::string& path) {
  ensure_sodium();
  auto fd = fs::open(path, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::move(fd).error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return os_error("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    Error e = os_error("read", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    e.detail = "not a regular file";
    return e;
  }
  return FileSha256(std::move(*fd), path);
}

Result<size_t> FileSha256::step(std::span<unsigned char> buf, size_t max_bytes) {
  size_t total = 0;
  max_bytes = std::max<size_t>(max_bytes, 1);
  while (!done_ && total < max_bytes) {
    size_t want = std::min(buf.size(), max_bytes - total);
    ssize_t n = ::read(fd_.get(), buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", path_, errno);
    }
    if (n == 0) {
      done_ = true;
      break;
    }
    state_.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
  return total;
}

std::string FileSha256::hex() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  state_.final(digest);
  fd_.reset();
  return to_hex(digest);
}

Result<std::string> sha256_file(const std::string& path) {
  auto opened = FileSha256::open(path);
  if (!opened) return std::move(opened).error();
  FileSha256& file = *opened;
  std::vector<unsigned char> buf(256 * 1024);
  while (!file.done()) HS_TRY(file.step(buf, buf.size()));
  return file.hex();
}

}  // namespace hs
