#include "common/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <thread>

#include "common/fs.hpp"

namespace hs {

long read_lock_pid(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return -1;
  long pid = -1;
  const char* b = text->data();
  auto [ptr, ec] = std::from_chars(b, b + text->size(), pid);
  if (ec != std::errc() || ptr == b || pid <= 0) return -1;
  return pid;
}


Result<InstanceLock> InstanceLock::acquire(const std::string& path, std::string_view held) {
  auto fd = fs::open(path, O_RDWR | O_CREAT, 0600);
  if (!fd) return std::move(fd).error();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return os_error("flock", path, errno);
    // The holder truncates and then writes its pid; a read that lands in
    // between sees nothing, so give it a few short tries.
    long pid = -1;
    for (int i = 0; i < 20 && pid < 0; ++i) {
      pid = read_lock_pid(path);
      if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::string who = pid > 0 ? "another harnesssyncd (pid " + std::to_string(pid) + ")" : "another harnesssyncd";
    return busy("lock", path, who + " " + std::string(held));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) != 0) return os_error("truncate", path, errno);
  if (::pwrite(fd->get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return os_error("write", path, errno);
  }
  return InstanceLock(std::move(*fd));
}

}  // namespace hs
