// The client library's errors, made once where they arise. errno_error is
// its only errno-to-Error conversion: every failed system call is reported
// as "<what>: <strerror(err)>".
#pragma once

#include <string>
#include <string_view>

#include "harnesssync/client.hpp"

namespace harnesssync::detail {

Error make_error(Error::Kind kind, std::string message);
/// "<what>: <reason for err>", e.g. "connect to harnesssyncd at /s: Connection refused".
Error errno_error(Error::Kind kind, std::string_view what, int err);

}  // namespace harnesssync::detail
