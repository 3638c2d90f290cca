// The inotify backend's sync cookie is an attribute change of a file only
// this process can reach (inotify_backend.cpp). memfd_create where the
// build has it (HS_HAVE_MEMFD); else a temp file unlinked at once: no name
// left for another process to touch (and complete a sync early), and
// nothing to clean up after a crash either way.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hs::daemon::watch {

/// A private, nameless regular file: memfd_create, or unlinked_temp_file.
Result<UniqueFd> cookie_file();
/// The fallback, built on every platform so that it is tested on every
/// build: a file made by mkostemp in $TMPDIR (or /tmp) and unlinked.
Result<UniqueFd> unlinked_temp_file();

}  // namespace hs::daemon::watch
