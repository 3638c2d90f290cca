// One Unix stream connection with deadlines: connect, send, read frames.
// Internal to the client library.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"
#include "harnesssync/result.hpp"
#include "proto/framing.hpp"

namespace harnesssync::detail {
namespace proto = hs::proto;

using Deadline = std::chrono::steady_clock::time_point;

inline Deadline deadline_after(std::chrono::milliseconds ms) { return std::chrono::steady_clock::now() + ms; }

class Connection {
 public:
  /// Connects to `path`. Kind::unreachable (with `err` set to the errno)
  /// when nobody listens; Kind::timeout past the deadline.
  static Result<Connection> open(const std::string& path, Deadline deadline, int* err = nullptr);

  /// Sends all of `bytes` (MSG_NOSIGNAL: a dead daemon is an error, not a signal).
  Result<Done> send(std::string_view bytes, Deadline deadline);
  /// The next complete frame. Kind::protocol when the daemon closes the
  /// connection or sends bytes that cannot be framed.
  Result<proto::Frame> read_frame(Deadline deadline);
  /// Like read_frame, but an expired deadline gives nullopt, not an error.
  Result<std::optional<proto::Frame>> try_read_frame(Deadline deadline);

 private:
  explicit Connection(hs::UniqueFd fd);
  hs::UniqueFd fd_;
  proto::FrameParser parser_;
};

}  // namespace harnesssync::detail
