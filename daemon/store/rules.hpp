// The value rules of the state file (STATE.md): names, paths, counts, hash
// equality and the three-way status. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.hpp"

namespace hs::store {

inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxPathBytes = 4096;
/// Counts stay exactly representable as JSON numbers everywhere (2^53 - 1).
inline constexpr int64_t kMaxCount = (int64_t{1} << 53) - 1;

/// 1..64 characters of A-Z a-z 0-9 . _ -
bool is_valid_name(std::string_view name);
/// Errc::invalid_argument naming `field` unless `name` is a valid name.
Status check_name(std::string_view field, std::string_view name);
/// Non-empty, no NUL, at most 4096 bytes.
Status check_path(std::string_view field, std::string_view path);
/// 0..2^53-1.
Status check_count(std::string_view field, int64_t value);

/// True for lowercase hex of at least `min_len` characters.
bool is_lower_hex(std::string_view s, size_t min_len);
/// Equal strings, or both lowercase hex of 16+ characters where the shorter is
/// a prefix of the longer (HarnessSync stores SHA-256 cut to 16 characters).
bool hashes_equal(std::string_view a, std::string_view b);

/// "success" when failed is 0, "partial" when failed > 0 and synced > 0,
/// "failed" otherwise.
std::string_view sync_status(int64_t synced, int64_t failed);

}  // namespace hs::store
