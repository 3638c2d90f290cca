// Client::Impl: one connection's call plumbing. Requests go out with
// increasing ids; the answer is matched by id; notifications that arrive
// meanwhile go to the handler.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "client/src/connection.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {

struct Client::Impl {
  using Handler = std::function<void(std::string_view, const boost::json::object&)>;

  Impl(detail::Connection c, std::string path, bool started_daemon, std::chrono::milliseconds call_timeout)
      : conn(std::move(c)), socket_path(std::move(path)), started(started_daemon), timeout(call_timeout) {}

  detail::Connection conn;
  std::string socket_path;
  bool started = false;
  std::chrono::milliseconds timeout;
  int64_t next_id = 1;
  Handler on_notification;
  bool in_handler = false;  // the handler runs: calls from it are refused

  /// One request and its answer, waited for until `deadline`.
  Result<boost::json::value> call(std::string_view method, boost::json::object params, detail::Deadline deadline);
  /// Delivers notifications for up to `wait` (Client::poll_notifications).
  Result<int> poll(std::chrono::milliseconds wait);

 private:
  Result<int64_t> send(std::string_view method, boost::json::object params, detail::Deadline deadline);
  /// Reads until the answer to `id`, delivering notifications.
  Result<boost::json::value> await(int64_t id, detail::Deadline deadline);
  // A message that is not an answer we wait for: hand notifications on.
  void deliver(const boost::json::value& msg);
};

}  // namespace harnesssync
