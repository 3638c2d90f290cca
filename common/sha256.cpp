#include "common/sha256.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

FileSha256::FileSha256(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {
  crypto_hash_sha256_init(&state_);
}

Result<FileSha256> FileSha256::open(const std::string& path) {
  ensure_sodium();
  auto fd = fs::open(path, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::move(fd).error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return os_error("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    Error e = os_error("read", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    e.detail = "not a regular file";
    return e;
  }
  return FileSha256(std::move(*fd), path);
}

Result<size_t> FileSha256::step(std::span<unsigned char> buf, size_t max_bytes) {
  size_t total = 0;
  max_bytes = std::max<size_t>(max_bytes, 1);
  while (!done_ && total < max_bytes) {
    size_t want = std::min(buf.size(), max_bytes - total);
    ssize_t n = ::read(fd_.get(), buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", path_, errno);
    }
    if (n == 0) {
      done_ = true;
      break;
    }
    crypto_hash_sha256_update(&state_, buf.data(), static_cast<unsigned long long>(n));
    total += static_cast<size_t>(n);
  }
  return total;
}

std::string FileSha256::hex() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state_, digest);
  fd_.reset();
  return to_hex(digest);
}

Result<std::string> sha256_file(const std::string& path) {
  auto opened = FileSha256::open(path);
  if (!opened) return std::move(opened).error();
  FileSha256& file = *opened;
  std::vector<unsigned char> buf(256 * 1024);
  while (!file.done()) HS_TRY(file.step(buf, buf.size()));
  return file.hex();
}

}  // namespace hs
