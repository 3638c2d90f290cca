#include "common/socket_path.hpp"

#include <sys/un.h>

#include <cstdlib>

#include "common/fs.hpp"

namespace hs {

size_t max_socket_path() { return sizeof(sockaddr_un::sun_path) - 1; }

Result<std::string> resolve_socket_path(const std::optional<std::string>& flag,
                                        const std::string& state_dir) {
  std::string path;
  if (flag && !flag->empty()) {
    path = *flag;
  } else if (const char* env = std::getenv("HARNESSSYNC_SOCKET"); env != nullptr && *env != '\0') {
    path = env;
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
    path = fs::join(fs::join(xdg, "harnesssync"), "harnesssyncd.sock");
  } else {
    path = fs::join(state_dir, "harnesssyncd.sock");
  }
  if (path.size() > max_socket_path()) {
    return invalid_argument("socket", "path is " + std::to_string(path.size()) +
                                          " bytes, longer than the " + std::to_string(max_socket_path()) +
                                          " a Unix socket address holds: " + path);
  }
  return path;
}

}  // namespace hs
