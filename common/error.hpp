// Errors as values: one type for every failure, made once where the OS (or a
// parser) reports it, carrying what was being done and to which path. Each
// kind has its own factory below; pass errors up with HS_TRY (result.hpp).
#pragma once

#include <string>

namespace hs {

enum class Errc {
  os,                 // a system call failed; `sys_errno` says why
  invalid_argument,   // the caller passed something out of contract; `field` names it
  corrupt,            // a file exists but its content cannot be used
  unsupported,        // a file is from a newer, unknown schema version
  busy,               // a resource is held by someone else (e.g. the daemon lock)
  unsafe_socket_dir,  // the socket's directory is not ours alone (not 0700, or another owner)
  unsafe_state_dir,   // the state dir is another user's, or writable by group or others
  not_regular,        // a file that must be a regular file is not (a FIFO, a device, a directory)
  write_failed,       // a durable write of the state failed; `sys_errno`, `op` and `path` say where
};

struct Error {
  Errc code = Errc::os;
  int sys_errno = 0;      // errno for Errc::os (and when an OS error caused another code)
  std::string op;         // the operation: "open", "fsync", "rename", "parse", ...
  std::string path;       // the file or directory concerned, when there is one
  std::string detail;     // a reason in words, when errno alone does not say it
  std::string field;      // for Errc::invalid_argument: the parameter at fault

  /// "open /x/state.json: Permission denied" — one line, for logs and CLIs.
  std::string message() const;
  /// The reason alone: strerror(sys_errno), or `detail`.
  std::string reason() const;
};

/// An OS error from the current errno (or `err`), with operation and path.
Error os_error(std::string op, std::string path, int err);
/// A caller error: `field` is out of contract, `reason` says how.
Error invalid_argument(std::string field, std::string reason);
/// `path` is held by someone else; `detail` names them when known.
Error busy(std::string op, std::string path, std::string detail);
/// `path` exists but its content cannot be used; `detail` says why.
Error corrupt(std::string op, std::string path, std::string detail);
/// `path` is of a newer, unknown format; `detail` says which.
Error unsupported(std::string op, std::string path, std::string detail);
/// The socket directory `dir` could be written by others; `detail` says how.
Error unsafe_socket_dir(std::string dir, std::string detail);
/// The state dir `dir` is not safe to keep the state in; `detail` says why.
Error unsafe_state_dir(std::string dir, std::string detail);
/// `path` must be a regular file and is not; `detail` says what it is.
Error not_regular(std::string op, std::string path, std::string detail);

}  // namespace hs
