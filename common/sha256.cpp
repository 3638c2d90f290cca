// The parts of common/sha256.hpp that do not depend on the library that
// hashes: hex, and reading files (sha256_openssl.cpp or sha256_sodium.cpp
// hold the hasher).
#include "common/sha256.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/fs.hpp"

namespace hs {
namespace {

std::string to_hex(const unsigned char (&digest)[kSha256Bytes]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * kSha256Bytes, '\0');
  for (size_t i = 0; i < kSha256Bytes; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  sha256_detail::Hasher hasher;
  hasher.update(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  unsigned char digest[kSha256Bytes];
  hasher.final(digest);
  return to_hex(digest);
}

FileSha256::FileSha256(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

Result<FileSha256> FileSha256::open(const std::string& path) {
  // Opening is the side effect to avoid: a FIFO with no writer blocks the
  // open, a tape rewinds, a terminal becomes the daemon's controlling one.
  // O_NONBLOCK and O_NOCTTY make the open harmless; only then is the type
  // checked, before a single byte is read.
  HS_TRY_ASSIGN(UniqueFd fd, fs::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    Error e = os_error("read", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    e.detail = "not a regular file";
    return e;
  }
  // A regular file read with O_NONBLOCK may answer EAGAIN (a FUSE or network
  // file system, a mandatory lock): the reads are meant to wait.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return os_error("fcntl", path, errno);
  return FileSha256(std::move(fd), path);
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
    state_.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
  return total;
}

std::string FileSha256::hex() {
  unsigned char digest[kSha256Bytes];
  state_.final(digest);
  fd_.reset();
  return to_hex(digest);
}

Result<std::string> sha256_file(const std::string& path) {
  HS_TRY_ASSIGN(FileSha256 file, FileSha256::open(path));
  // One buffer per thread, not per call (256 KiB is an mmap and a munmap
  // each time): the store's accept hashes its files one after another here.
  thread_local const std::unique_ptr<unsigned char[]> buf(new unsigned char[kSha256FileBuffer]);
  while (!file.done()) HS_TRY(file.step(std::span(buf.get(), kSha256FileBuffer), kSha256FileBuffer));
  return file.hex();
}

}  // namespace hs
