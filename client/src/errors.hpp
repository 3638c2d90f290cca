// The client library's errors, made once where they arise. errno_error is
// its only errno-to-Error conversion: every failed system call is reported
// as "<what>: <strerror(err)>".
#pragma once

#include <string>
#include <string_view>

#include "harnesssync/result.hpp"

namespace harnesssync::detail {

Error make_error(Error::Kind kind, std::string message);
/// "<what>: <reason for err>", e.g. "connect to harnesssyncd at /s: Connection refused".
Error errno_error(Error::Kind kind, std::string_view what, int err);
/// The caller passed something invalid.
inline Error usage_error(std::string message) { return make_error(Error::Kind::usage, std::move(message)); }
/// The daemon's answer is not what the protocol says.
inline Error protocol_error(std::string message) { return make_error(Error::Kind::protocol, std::move(message)); }

}  // namespace harnesssync::detail
