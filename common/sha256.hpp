// SHA-256 of bytes and of files (libsodium), as lowercase hex.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs {

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
  crypto_hash_sha256_state state_{};
  bool done_ = false;
};

}  // namespace hs
