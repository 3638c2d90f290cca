// Thin, error-valued wrappers over the POSIX file calls the project needs.
// Every error names the operation and the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs::fs {

/// Opens `path` (flags as for open(2); O_CLOEXEC is always added).
Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);
/// Whole content of a regular file (a symlink is followed). Errc::os with
/// ENOENT when it does not exist; Errc::not_regular, naming the file type,
/// when it is a FIFO, device, directory or socket: it never blocks on one.
Result<std::string> read_file(const std::string& path);
/// "FIFO", "directory", "character device", ... for a stat(2) st_mode.
const char* file_type_name(mode_t mode);
/// Writes all of `data` to `fd`, retrying short writes and EINTR.
Status write_all(int fd, std::string_view data, const std::string& path_for_errors);
/// Makes what was written to `fd` (a file or a directory) durable: on the
/// disk itself, not only in its cache. fsync(2), except on macOS, whose
/// fsync leaves the data in the drive's cache: there F_FULLFSYNC, and
/// fsync when the file system refuses it (as SQLite does). The one place
/// the daemon and its tools ask for durability. Errors name "fsync".
Status durable_sync(int fd, const std::string& path_for_errors);
/// durable_sync of a directory, so that renames and unlinks inside it are durable.
Status fsync_dir(const std::string& dir);
/// Names in `dir` (without "." and "..").
Result<std::vector<std::string>> list_dir(const std::string& dir);
/// Creates `dir` and its missing parents with `mode`. Existing ones are left as they are.
Status make_dirs(const std::string& dir, mode_t mode);
/// `dir` + "/" + `name` (one slash between them, none added after a
/// trailing one: join("/", "x") is "/x").
std::string join(std::string_view dir, std::string_view name);
/// `path` split at its last slash into (directory, name), as dirname(1)
/// and basename(1) would for a path without a trailing slash:
/// "a/b/c" -> ("a/b", "c"), "/c" -> ("/", "c"), "c" -> (".", "c").
std::pair<std::string, std::string> split(std::string_view path);
/// A mode's permission bits (07777) as four octal digits ("0755"), for messages.
std::string octal(mode_t mode);

}  // namespace hs::fs
