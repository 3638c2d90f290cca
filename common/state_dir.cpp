#include "common/state_dir.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/fs.hpp"

namespace hs {

namespace {

// Python's expanduser("~") drops trailing slashes, and an empty result is "/".
std::string without_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s.empty() ? "/" : s;
}

// The home of the real uid's passwd entry, as it is spelled there;
// Errc::os (ENOENT when there is no entry) otherwise.
Result<std::string> passwd_entry_home() {
  std::vector<char> buf(16384);
  passwd pw {};
  passwd* found = nullptr;
  int rc = ::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr || pw.pw_dir == nullptr) return os_error("getpwuid", "", rc != 0 ? rc : ENOENT);
  return std::string(pw.pw_dir);
}

}  // namespace

Result<std::string> home_dir() {
  // As Python's Path.home() (which harnesssync.paths uses): $HOME whenever it
  // is set, even empty; the passwd entry only when it is not.
  if (const char* home = std::getenv("HOME"); home != nullptr) return without_trailing_slashes(home);
  auto entry = passwd_entry_home();
  if (!entry) {
    Error e = std::move(entry).error();
    e.detail = "cannot find the home directory ($HOME is not set)";
    return e;
  }
  return without_trailing_slashes(*entry);
}

std::optional<std::string> passwd_home() {
  // As harnesssync.paths.passwd_home(): an empty pw_dir names no directory
  // (joined with ".harnesssync" it would be relative to the cwd).
  auto entry = passwd_entry_home();
  if (!entry || entry->empty()) return std::nullopt;
  return *entry;
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

Status ensure_state_dir(const std::string& dir) {
  HS_TRY(fs::make_dirs(dir, 0700));
  return check_state_dir(dir);
}

Status check_state_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return os_error("use", dir, ENOTDIR);
  // 0755 is fine (HarnessSync makes ~/.harnesssync so): others may read the
  // state, as HarnessSync lets them. Whoever can write the dir, though, can
  // replace state.json or take the daemon's lock from under us.
  const uid_t uid = ::geteuid();
  if (st.st_uid != uid) {
    return unsafe_state_dir(dir, "is owned by uid " + std::to_string(st.st_uid) + " (mode " + fs::octal(st.st_mode) +
                                     "), not by uid " + std::to_string(uid) + " who runs harnesssyncd");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return unsafe_state_dir(dir, "is mode " + fs::octal(st.st_mode) + " (owned by uid " + std::to_string(st.st_uid) +
                                     "): writable by " + ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
                                     "; make it private: chmod go-w " + dir);
  }
  return {};
}

}  // namespace hs
