// SHA-256 of bytes and of files, as lowercase hex.
//
// Two implementations of one function. libsodium's crypto_hash_sha256 is the
// reference and the fallback: it is what every other HarnessSync tool agrees
// with, and it runs everywhere, but its portable C does ~160 MB/s per core,
// which makes cold drift checks of large files slower than sha256sum (issue
// 10). Where the CPU has the x86 SHA extensions (checked at run time, so one
// binary serves every x86-64 machine) the compression function runs on
// SHA-NI instead, with its own padding and length; the tests compare it with
// libsodium byte for byte at every block boundary.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs {

namespace sha256_detail {

/// An incremental SHA-256: on SHA-NI when the CPU has it (and the portable
/// path is not forced), else libsodium's incremental API. The choice is made
/// once per hasher, at construction.
class Hasher {
 public:
  Hasher();
  void update(const unsigned char* data, size_t size);
  /// The digest; the hasher must not be updated afterwards.
  void final(unsigned char (&digest)[crypto_hash_sha256_BYTES]);
  bool fast() const { return fast_; }

 private:
  bool fast_ = false;
  // The fast path's streaming state: chaining value, partial block, length.
  uint32_t h_[8]{};
  unsigned char block_[64]{};
  size_t block_len_ = 0;
  uint64_t total_len_ = 0;
  crypto_hash_sha256_state sodium_{};
};

/// Forces libsodium for hashers constructed afterwards (tests compare both
/// paths; a way to rule SHA-NI out if a digest were ever in doubt).
void force_portable(bool on);
/// True when a hasher constructed now would use SHA-NI.
bool fast_path_available();

}  // namespace sha256_detail

/// Lowercase hex SHA-256 (64 characters) of `data`.
std::string sha256_hex(std::string_view data);

/// Lowercase hex SHA-256 of the content of `path`, following symlinks.
/// Fails with Errc::os: ENOENT (or ENOTDIR) when the file does not exist,
/// EISDIR when it is not a regular file, or the read error.
Result<std::string> sha256_file(const std::string& path);

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
