#include "common/sha256.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/fs.hpp"

namespace hs {
namespace {

void ensure_sodium() {
  // sodium_init is thread-safe and idempotent; a static makes it run once.
  static const int rc = sodium_init();
  if (rc < 0) std::abort();  // libsodium cannot work at all (no entropy source)
}

std::string to_hex(const unsigned char (&digest)[crypto_hash_sha256_BYTES]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * crypto_hash_sha256_BYTES, '\0');
  for (size_t i = 0; i < crypto_hash_sha256_BYTES; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest);
}

Result<std::string> sha256_file(const std::string& path) {
  ensure_sodium();
  // O_NONBLOCK: opening a FIFO must not hang the caller; it is rejected
  // below as not a regular file.
  auto fd = fs::open(path, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::move(fd).error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return os_error("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    Error e = os_error("read", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    e.detail = "not a regular file";
    return e;
  }
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<unsigned char> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", path, errno);
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&state, buf.data(), static_cast<unsigned long long>(n));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return to_hex(digest);
}

}  // namespace hs
