#include "daemon/store/rename_seam.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "common/platform.hpp"

namespace hs::daemon::store {

#if HS_HAVE_RENAMEAT2

bool exchange_built() { return true; }

int exchange_names(const std::string& a, const std::string& b) {
  // glibc's wrapper, not syscall(2): the fault shim of the torture run
  // (tests/support/fault_state.cpp) sees it.
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0 ? 0 : errno;
}

#else

bool exchange_built() { return false; }

int exchange_names(const std::string&, const std::string&) { return EINVAL; }

#endif

int rename_noreplace(const std::string& from, const std::string& to) {
#if HS_HAVE_RENAMEAT2
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
  // link(2) fails with EEXIST rather than replace: the check and the new
  // name are one step. The old name is then removed; a crash in between
  // leaves both names on one file, which loses nothing.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  if (::unlink(from.c_str()) != 0) return errno;
  return 0;
}

}  // namespace hs::daemon::store
