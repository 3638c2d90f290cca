#include "daemon/watch/cookie_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/platform.hpp"

#if HS_HAVE_MEMFD
#include <sys/mman.h>
#endif

namespace hs::daemon::watch {

Result<UniqueFd> unlinked_temp_file() {
  const char* tmp = ::getenv("TMPDIR");
  std::string path = fs::join(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp", "harnesssyncd-sync.XXXXXX");
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd.valid()) return os_error("create temp file", path, errno);
  if (::unlink(path.c_str()) != 0) return os_error("unlink", path, errno);
  return fd;
}

Result<UniqueFd> cookie_file() {
#if HS_HAVE_MEMFD
  UniqueFd fd(::memfd_create("harnesssyncd-sync", MFD_CLOEXEC));
  if (!fd.valid()) return os_error("memfd_create", "", errno);
  return fd;
#else
  return unlinked_temp_file();
#endif
}

}  // namespace hs::daemon::watch
