// harnesssync client library: how a call fails (Error), and a value or an
// Error (Result). Included by harnesssync/client.hpp.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <variant>

namespace harnesssync {

/// Why a call failed.
struct Error {
  enum class Kind {
    rpc,          // the daemon answered with a JSON-RPC error: see code, data
    unreachable,  // no daemon answers on the socket (and none could be started)
    spawn_failed, // the daemon was started but could not start up: message is its reason
    timeout,      // no answer within the timeout
    protocol,     // the daemon's bytes were not a valid answer, or it closed the connection
    usage,        // the caller passed something invalid (e.g. an unreadable --hashes file)
    wrong_daemon, // the daemon on the socket serves another state dir than the one named
  };
  Kind kind = Kind::protocol;
  int code = 0;              // JSON-RPC error code when kind == rpc
  std::string message;       // one line, for people
  boost::json::value data;   // JSON-RPC error data when kind == rpc (else null)
};

/// A value or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// REQUIRES: ok()
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// REQUIRES: !ok()
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// For calls that return nothing.
struct Done {};

}  // namespace harnesssync
