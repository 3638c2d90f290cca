// SHA-256 of bytes and of files, as lowercase hex: the daemon's digests
// (hash.files, drift, the stat cache), from a kept library.
//
// OpenSSL's libcrypto by default: it picks SHA-NI, AVX2 or the ARMv8 crypto
// extensions at run time, so one binary hashes at the CPU's speed on every
// machine; with SHA extensions that is about four times libsodium's portable
// C, which hashes no faster than sha256sum (issue 10).
// libsodium, which every other HarnessSync tool agrees with, is the build's
// fallback (-DHS_WITH_OPENSSL=OFF) and the oracle the tests compare with.
//
// This is the hs_sha256 target, apart from hs_common, so that libcrypto
// never reaches hsctl or the client library: loading and starting it costs
// about as much as the rest of an hsctl start. The socket rule's digest, the
// one hsctl needs, is libsodium's (socket_path.cpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#if !defined(HS_SHA256_OPENSSL)
#error "common/sha256.hpp: link hs_sha256, which says which library hashes (HS_SHA256_OPENSSL)"
#endif
#if HS_SHA256_OPENSSL
struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX
#else
#include <sodium.h>
#endif

namespace hs {

constexpr size_t kSha256Bytes = 32;

namespace sha256_detail {

/// An incremental SHA-256 on the build's library. Moved, never copied; a
/// moved-from hasher may only be destroyed or assigned to.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(Hasher&& other) noexcept;
  Hasher& operator=(Hasher&& other) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const unsigned char* data, size_t size);
  /// The digest; the hasher must not be updated afterwards.
  void final(unsigned char (&digest)[kSha256Bytes]);

 private:
#if HS_SHA256_OPENSSL
  evp_md_ctx_st* ctx_ = nullptr;  // owned
#else
  crypto_hash_sha256_state state_{};
#endif
};

}  // namespace sha256_detail

/// Lowercase hex SHA-256 (64 characters) of `data`.
std::string sha256_hex(std::string_view data);

/// Lowercase hex SHA-256 of the content of `path`, following symlinks.
/// Fails with Errc::os: ENOENT (or ENOTDIR) when the file does not exist,
/// EISDIR when it is not a regular file, or the read error.
Result<std::string> sha256_file(const std::string& path);

/// sha256_file reads through a buffer of this size.
constexpr size_t kSha256FileBuffer = size_t{256} * 1024;

/// One file hashed in pieces, so that a scheduler can interleave many files
/// (and give up between pieces) instead of reading one to its end. The
/// descriptor stays open between pieces: the digest is of one file, even if
/// the path is replaced meanwhile.
class FileSha256 {
 public:
  /// Opens `path` without blocking (a FIFO must not hang the caller) and
  /// checks that it is a regular file; the errors of sha256_file.
  static Result<FileSha256> open(const std::string& path);

  /// Reads and hashes at most `max_bytes` (at least one read), through `buf`.
  /// Returns the bytes hashed; 0 once the end was reached (then done()).
  Result<size_t> step(std::span<unsigned char> buf, size_t max_bytes);
  bool done() const { return done_; }
  /// The open descriptor (for an fstat of exactly what is hashed).
  int fd() const { return fd_.get(); }
  /// The digest, once done().
  std::string hex();

 private:
  FileSha256(UniqueFd fd, std::string path);
  UniqueFd fd_;
  std::string path_;
  sha256_detail::Hasher state_;
  bool done_ = false;
};

}  // namespace hs
