// The hasher of common/sha256.hpp on OpenSSL 3's libcrypto (HS_WITH_OPENSSL).
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <string>

#include "common/log.hpp"
#include "common/sha256.hpp"

namespace hs::sha256_detail {
namespace {

// libcrypto fails here only when it cannot work at all (no memory, or a
// configuration that leaves no SHA-256); a digest has no error to return,
// and a wrong one must never be reported, so stop.
[[noreturn]] void fatal(const char* call) {
  char reason[256] = "no reason given";
  if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, reason, sizeof reason);
  log::error(std::string("libcrypto: ") + call + " failed: " + reason);
  std::abort();
}

// Fetched once, on the first digest (not at start-up: the daemon's first
// answer does not wait for libcrypto to load its providers). An EVP_MD from
// EVP_sha256() would be looked up in the provider's tables again at every
// EVP_DigestInit_ex2.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = [] {
    // No configuration file: the system's OpenSSL settings (providers, FIPS
    // policy) govern security uses, and a digest that tells whether a file
    // changed is not one; it must not depend on them, and the default
    // provider, built into libcrypto, always has SHA-256. It also saves
    // ~0.3 ms and ~0.6 MB at the first digest (docs/PERFORMANCE.md).
    // No cleanup at exit: a thread that still hashes while exit() runs (in
    // a test, say) must not find libcrypto's tables freed under it.
    if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr) != 1) {
      fatal("OPENSSL_init_crypto");
    }
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) fatal("EVP_MD_fetch(SHA256)");
    return fetched;
  }();
  return md;
}

}  // namespace

// A context per hasher, made and freed with it: that costs ~50 ns against
// several µs to open, read and close even a small file (measured with
// OpenSSL 3.0 here), so a pool of contexts would buy nothing. The fetch is
// what would cost: ~500 ns per digest with EVP_sha256().
Hasher::Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) fatal("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) != 1) fatal("EVP_DigestInit_ex2");
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

Hasher::Hasher(Hasher&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }

Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

void Hasher::update(const unsigned char* data, size_t size) {
  if (EVP_DigestUpdate(ctx_, data, size) != 1) fatal("EVP_DigestUpdate");
}

void Hasher::final(unsigned char (&digest)[kSha256Bytes]) {
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_, digest, &n) != 1 || n != kSha256Bytes) fatal("EVP_DigestFinal_ex");
}

}  // namespace hs::sha256_detail
