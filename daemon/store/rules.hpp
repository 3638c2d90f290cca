// The state file's own value rules (docs/STATE.md): hash equality and the
// three-way status. Pure functions, no I/O. Name, path and count rules are
// shared with the protocol: common/validate.hpp.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/validate.hpp"

namespace hs::daemon::store {

/// True for lowercase hex of at least `min_len` characters.
bool is_lower_hex(std::string_view s, size_t min_len);
/// Equal strings, or both lowercase hex of 16+ characters where the shorter is
/// a prefix of the longer (HarnessSync stores SHA-256 cut to 16 characters).
bool hashes_equal(std::string_view a, std::string_view b);

/// "success" when failed is 0, "partial" when failed > 0 and synced > 0,
/// "failed" otherwise.
std::string_view sync_status(int64_t synced, int64_t failed);

}  // namespace hs::daemon::store
