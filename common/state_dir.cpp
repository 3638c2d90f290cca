#include "common/state_dir.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/fs.hpp"

namespace hs {

Result<std::string> home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return std::string(home);
  std::vector<char> buf(16384);
  passwd pw {};
  passwd* found = nullptr;
  int rc = ::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr || pw.pw_dir == nullptr) {
    Error e = os_error("getpwuid", "", rc != 0 ? rc : ENOENT);
    e.detail = "cannot find the home directory ($HOME is not set)";
    return e;
  }
  return std::string(pw.pw_dir);
}

Result<std::string> resolve_state_dir(const std::optional<std::string>& flag) {
  if (flag) {
    if (flag->empty()) return invalid_argument("--state-dir", "must not be empty");
    return *flag;
  }
  if (const char* env = std::getenv("HARNESSSYNC_HOME"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  auto home = home_dir();
  if (!home) return std::move(home).error();
  return fs::join(*home, ".harnesssync");
}

Status ensure_state_dir(const std::string& dir) { return fs::make_dirs(dir, 0700); }

}  // namespace hs
