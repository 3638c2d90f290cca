#include "common/socket_path.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/real_path.hpp"
#include "common/state_dir.hpp"

namespace hs {
namespace {

// An environment variable; empty counts as unset (as in harnesssync.paths).
std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

Error runtime_dir_error(Errc code, const std::string& dir, int err, std::string detail) {
  Error e;
  e.code = code;
  e.sys_errno = err;
  e.op = "runtime dir";
  e.path = dir;
  e.detail = std::move(detail);
  return e;
}

Result<std::string> checked_length(std::string path) {
  if (path.size() > max_socket_path()) {
    return invalid_argument("socket", "path is " + std::to_string(path.size()) + " bytes, longer than the " +
                                          std::to_string(max_socket_path()) +
                                          " a Unix socket address holds: " + path);
  }
  return path;
}

// The first 16 hex digits of SHA-256(`text`). libsodium's, not libcrypto's
// (common/sha256.hpp): every hsctl start computes this, and loading and
// starting libcrypto would cost more than the rest of that start
// (docs/PERFORMANCE.md, "hsctl end to end"). The daemon uses it too, so
// that both sides of the rule are one function.
std::string digest16(const std::string& text) {
  // sodium_init is thread-safe and idempotent; a static makes it run once.
  static const int ready = sodium_init();
  if (ready < 0) std::abort();  // libsodium cannot work at all (no entropy source)
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '\0');
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

size_t max_socket_path() { return sizeof(sockaddr_un::sun_path) - 1; }

Result<std::string> runtime_dir(bool create) {
  if (auto xdg = env("XDG_RUNTIME_DIR")) return pathlib_str(*xdg);
  const uid_t uid = ::geteuid();
  const std::string dir = pathlib_join(env("TMPDIR").value_or("/tmp"), "harnesssync-" + std::to_string(uid));
  // In a shared /tmp anyone could have made this directory first, to catch
  // our connections: use it only when it is ours alone (as tmux does).
  // mkdir does not follow a symlink planted here; lstat below refuses one.
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return runtime_dir_error(Errc::os, dir, errno, "");
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && !create) return dir;
    return runtime_dir_error(Errc::os, dir, errno, "");
  }
  if (!S_ISDIR(st.st_mode)) {
    return runtime_dir_error(Errc::unsafe_socket_dir, dir, 0, "is not a directory; remove it");
  }
  if (st.st_uid != uid || (st.st_mode & 07777) != 0700) {
    return runtime_dir_error(Errc::unsafe_socket_dir, dir, 0,
                             "is mode " + fs::octal(st.st_mode) + " owned by uid " + std::to_string(st.st_uid) +
                                 "; it must be 0700 and owned by uid " + std::to_string(uid));
  }
  return dir;
}

Result<std::string> socket_name(const std::string& state_dir) {
  // Real paths, so that a symlink and its target, or a relative and an
  // absolute spelling, name one socket.
  const std::string real = realpath_lenient(abspath(state_dir));
  // Only the passwd entry's ~/.harnesssync, never $HOME's: the unhashed name
  // is one path per user (the one the systemd units serve), and a process
  // that points HOME elsewhere (a test, a sandbox) has another state dir
  // that must not reach, or be reached by, the user's own daemon.
  if (auto home = passwd_home(); home && real == realpath_lenient(pathlib_join(*home, ".harnesssync"))) {
    return std::string("harnesssyncd.sock");
  }
  return "harnesssyncd-" + digest16(real) + ".sock";
}

Result<std::string> resolve_socket_path(const std::optional<std::string>& flag, const std::string& state_dir,
                                        bool create) {
  if (flag && !flag->empty()) return checked_length(*flag);
  if (auto sock = env("HARNESSSYNC_SOCKET")) return checked_length(*sock);
  auto name = socket_name(state_dir);
  if (!name) return std::move(name).error();
  auto dir = runtime_dir(create);
  if (!dir) return std::move(dir).error();
  return checked_length(pathlib_join(pathlib_join(*dir, "harnesssync"), *name));
}

}  // namespace hs
