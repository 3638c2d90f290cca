// SHA-256 of bytes and of files (libsodium), as lowercase hex.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace hs {

/// Lowercase hex SHA-256 (64 characters) of `data`.
std::string sha256_hex(std::string_view data);

/// Lowercase hex SHA-256 of the content of `path`, following symlinks.
/// Fails with Errc::os: ENOENT (or ENOTDIR) when the file does not exist,
/// EISDIR when it is not a regular file, or the read error.
Result<std::string> sha256_file(const std::string& path);

}  // namespace hs
