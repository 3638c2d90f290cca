// The two renames the store needs beyond rename(2), behind one seam
// (common/platform.hpp, HS_HAVE_RENAMEAT2): on Linux renameat2(2); elsewhere,
// and under -DHS_PORTABLE=ON, what POSIX offers. Each returns 0 or an errno,
// so that the caller turns it into an error once, with its own context.
#pragma once

#include <string>

namespace hs::daemon::store {

/// Whether this build can swap two names at all (renameat2's
/// RENAME_EXCHANGE). A file system may still refuse it: EINVAL.
bool exchange_built();

/// Swaps `a` and `b` in one step: each name then holds the other's file.
/// Both must exist (ENOENT otherwise). EINVAL (or ENOSYS) when the file
/// system or kernel cannot, and always where exchange_built() is false.
int exchange_names(const std::string& a, const std::string& b);

/// Renames `from` to `to` only if `to` does not exist (EEXIST otherwise):
/// renameat2(RENAME_NOREPLACE), or link(2) then unlink(2) where that is
/// missing or refused. Never replaces `to`.
int rename_noreplace(const std::string& from, const std::string& to);

}  // namespace hs::daemon::store
