// state.json as the store last wrote or loaded it: an open descriptor on
// that very file and its identity (docs/STATE.md, "Other writers"). The
// identity is always taken with fstat(2) on the descriptor the store wrote
// or read through, never by a second stat(2) of the path, which another
// writer's rename may already have changed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/file_stat.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::store {

struct KeptFile {
  UniqueFd fd;  // kept open: fstat on it says whether the file changed since
  FileStat id;  // as recorded when written or read
};

/// state.json's content read through one descriptor, and that descriptor.
struct ReadFile {
  std::string text;
  std::shared_ptr<KeptFile> file;
  /// The file changed while it was read (size, mtime or ctime moved): a
  /// writer is at work in place. `file->id` is from before the read, so
  /// the next check sees a change either way.
  bool changing = false;
};

/// Opens `path` (following a symlink), refuses anything but a regular file
/// (Errc::not_regular; a FIFO never blocks it), and reads it whole.
/// nullopt when there is no such file.
Result<std::optional<ReadFile>> read_kept(const std::string& path);

/// fstat(2) of a kept descriptor.
Result<FileStat> fstat_kept(int fd, const std::string& path_for_errors);

}  // namespace hs::daemon::store
