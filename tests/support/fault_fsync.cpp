// LD_PRELOAD fault injection for the one failure that cannot be made real
// here: fsync(2) of a directory failing with EIO after a rename. While the
// file named by $HS_FAULT_DIR_FSYNC exists, every fsync of a directory
// fails; everything else goes to the real fsync. Used by
// tests/integration/test_faults.py.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern "C" int fsync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fsync"));
  const char* flag = std::getenv("HS_FAULT_DIR_FSYNC");
  struct stat st {};
  if (flag != nullptr && ::access(flag, F_OK) == 0 && ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
