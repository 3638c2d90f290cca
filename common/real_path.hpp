// Path spelling as the Python client computes it, so that hsctl, the C++
// library, the daemon and harnesssync.paths derive the same socket name
// from the same state dir, byte for byte (docs/PROTOCOL.md, "Socket").
//
// The hash behind a socket name is taken over the state dir's absolute real
// path, which must also exist for a state dir that does not exist yet (the
// daemon creates it). realpath(3) fails there; Python's os.path.realpath
// (non-strict) resolves what exists and keeps the rest. These functions
// follow Python 3.9-3.12's posixpath exactly, including its lexical `..`
// in abspath (before symlinks are resolved).
#pragma once

#include <string>
#include <string_view>

namespace hs {

/// os.path.normpath: collapses `//`, `.` and `..` lexically; keeps exactly
/// two leading slashes (POSIX); "" is ".".
std::string normpath(std::string_view path);

/// os.path.abspath: normpath of cwd + path (path as it is when absolute).
std::string abspath(std::string_view path);

/// os.path.realpath(path) (non-strict): symlinks resolved component by
/// component, a missing or unreadable component kept as it is, a symlink
/// loop left unresolved; the result made absolute.
std::string realpath_lenient(std::string_view path);

/// str(pathlib.PurePosixPath(path)): `//` and `.` components dropped (but
/// not `..`), trailing slashes dropped, exactly two leading slashes kept;
/// "" is ".".
std::string pathlib_str(std::string_view path);

/// str(PurePosixPath(base) / name) for a relative `name` without slashes.
std::string pathlib_join(std::string_view base, std::string_view name);

}  // namespace hs
