#include "client/src/connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <thread>

#include "client/src/errors.hpp"
#include "common/result.hpp"

namespace harnesssync::detail {
namespace {

// Answers may be large (state.all of a big state); the daemon is trusted.
constexpr size_t kMaxAnswerBytes = size_t{1} << 30;

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error.
int wait_for(int fd, short events, Deadline deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return 0;
    pollfd p{fd, events, 0};
    // Polled in slices of at most an hour: a far deadline (a lock waited
    // for without bound) must not overflow poll's int timeout.
    const int slice = static_cast<int>(std::min<int64_t>(left.count(), 3600 * 1000));
    int rc = ::poll(&p, 1, slice + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0 && slice < left.count()) continue;
    return rc;
  }
}

}  // namespace

Connection::Connection(hs::UniqueFd fd) : fd_(std::move(fd)), parser_(kMaxAnswerBytes) {}

Result<Connection> Connection::open(const std::string& path, Deadline deadline, int* err) {
  if (err != nullptr) *err = 0;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return make_error(Error::Kind::usage, "socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    hs::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return errno_error(Error::Kind::unreachable, "socket", errno);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return Connection(std::move(fd));
    // EAGAIN on a Unix socket: the daemon's backlog is full. Unlike TCP's
    // EINPROGRESS nothing is under way, so try again until the deadline.
    if (errno == EAGAIN || errno == EINTR) {
      if (std::chrono::steady_clock::now() + pause >= deadline) {
        return make_error(Error::Kind::timeout, "timed out connecting to harnesssyncd at " + path + " (it is busy)");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(20000));
      continue;
    }
    if (err != nullptr) *err = errno;
    return errno_error(Error::Kind::unreachable, "cannot connect to harnesssyncd at " + path, errno);
  }
}

Result<Done> Connection::send(std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      return errno_error(Error::Kind::protocol, "send to harnesssyncd", errno);
    }
    if (wait_for(fd_.get(), POLLOUT, deadline) <= 0) {
      return make_error(Error::Kind::timeout, "timed out sending to harnesssyncd");
    }
  }
  return Done{};
}

Result<std::optional<proto::Frame>> Connection::try_read_frame(Deadline deadline) {
  char buf[65536];
  for (;;) {
    if (auto f = parser_.next()) return std::optional<proto::Frame>(std::move(*f));
    if (parser_.error() != proto::FrameError::none) {
      return make_error(Error::Kind::protocol, "harnesssyncd sent bytes that are not a framed message");
    }
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      parser_.feed({buf, static_cast<size_t>(n)});
      continue;
    }
    if (n == 0) return make_error(Error::Kind::protocol, "harnesssyncd closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      return errno_error(Error::Kind::protocol, "read from harnesssyncd", errno);
    }
    int rc = wait_for(fd_.get(), POLLIN, deadline);
    if (rc == 0) return std::optional<proto::Frame>();
    if (rc < 0) return errno_error(Error::Kind::protocol, "poll", errno);
  }
}

Result<proto::Frame> Connection::read_frame(Deadline deadline) {
  HS_TRY_ASSIGN(std::optional<proto::Frame> f, try_read_frame(deadline));
  if (!f) return make_error(Error::Kind::timeout, "timed out waiting for harnesssyncd to answer");
  return std::move(*f);
}

}  // namespace harnesssync::detail
