// The state file's text form: what Python's json.dump(indent=2,
// ensure_ascii=False) writes, plus a trailing newline, so that a file written
// by either HarnessSync or harnesssyncd reads the same in the other.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "common/result.hpp"

namespace hs::daemon::store {

/// Pretty text: 2-space indent, ": " and "," separators, non-ASCII kept as
/// UTF-8, "{}" and "[]" for empty containers, and a final newline.
std::string to_state_text(const boost::json::value& v);

/// Parses strict JSON (UTF-8 validated). `path` is used in the error only.
Result<boost::json::value> parse_state_text(std::string_view text, const std::string& path);

}  // namespace hs::daemon::store
