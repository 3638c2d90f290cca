// The value rules docs/PROTOCOL.md and docs/STATE.md share: names, paths and counts.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.hpp"

namespace hs {

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

}  // namespace hs
