// The hasher of common/sha256.hpp on libsodium (-DHS_WITH_OPENSSL=OFF): the
// same digests as libcrypto's, from portable C: about a quarter of libcrypto's
// speed on a CPU with SHA extensions, about sha256sum's (docs/PERFORMANCE.md).
#include <cstdlib>

#include "common/sha256.hpp"

namespace hs::sha256_detail {

Hasher::Hasher() {
  // sodium_init is thread-safe and idempotent; a static makes it run once.
  static const int ready = sodium_init();
  if (ready < 0) std::abort();  // libsodium cannot work at all (no entropy source)
  crypto_hash_sha256_init(&state_);
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&& other) noexcept = default;
Hasher& Hasher::operator=(Hasher&& other) noexcept = default;

void Hasher::update(const unsigned char* data, size_t size) {
  crypto_hash_sha256_update(&state_, data, static_cast<unsigned long long>(size));
}

void Hasher::final(unsigned char (&digest)[kSha256Bytes]) {
  static_assert(kSha256Bytes == crypto_hash_sha256_BYTES);
  crypto_hash_sha256_final(&state_, digest);
}

}  // namespace hs::sha256_detail
