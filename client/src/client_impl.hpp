// Client::Impl: one connection's call plumbing. Requests go out with
// increasing ids; answers are matched by id (the daemon may answer pipelined
// requests in any order); notifications that arrive meanwhile go to the
// handler. It also holds the connect-time daemon.info check while its
// answer is pipelined with the first call (ClientOptions::pipeline_check).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "client/src/connection.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {

struct Client::Impl {
  using Handler = std::function<void(std::string_view, const boost::json::object&)>;
  using InfoHook = std::function<Result<Done>(const boost::json::object&)>;

  Impl(detail::Connection c, std::string path, bool started_daemon, std::chrono::milliseconds call_timeout)
      : conn(std::move(c)), socket_path(std::move(path)), started(started_daemon), timeout(call_timeout) {}

  detail::Connection conn;
  std::string socket_path;
  bool started = false;
  std::chrono::milliseconds timeout;
  int64_t next_id = 1;
  Handler on_notification;
  bool in_handler = false;  // the handler runs: calls from it are refused

  // The connect-time daemon.info: what to check on its answer, and the
  // request's id while that answer is not read yet.
  std::optional<std::string> check_dir;  // the state dir the daemon must serve
  InfoHook on_info;
  std::optional<int64_t> info_id;
  std::optional<Result<boost::json::value>> info_answer;  // read while awaiting another answer
  // The check failed: this connection is not used again, and every call
  // fails with this.
  std::optional<Error> broken;

  /// Queues daemon.info for the check: it goes out with the next request
  /// (one write, so the daemon reads both at once), or by settle_check(),
  /// which reads its answer.
  void queue_check();
  /// Reads the check's answer (unless already read) and checks it. Done when
  /// no check is pending.
  Result<Done> settle_check();

  /// One request and its answer, waited for until `deadline`. A pending
  /// check is settled before a call that may change something is sent, and
  /// before the answer of one that only reads is returned.
  Result<boost::json::value> call(std::string_view method, boost::json::object params, detail::Deadline deadline);
  /// Delivers notifications for up to `wait` (Client::poll_notifications).
  Result<int> poll(std::chrono::milliseconds wait);

 private:
  std::string outbox;  // requests queued, not yet written

  int64_t queue(std::string_view method, boost::json::object params);
  Result<Done> flush(detail::Deadline deadline);
  /// Writes what is queued, and this request.
  Result<int64_t> send(std::string_view method, boost::json::object params, detail::Deadline deadline);
  /// Reads until the answer to `id`, delivering notifications and keeping
  /// the check's answer if it comes first.
  Result<boost::json::value> await(int64_t id, detail::Deadline deadline);
  // A message that is not an answer we wait for: hand notifications on.
  void deliver(const boost::json::value& msg);
  Result<Done> check_info(const Result<boost::json::value>& answer);
};

namespace detail {
/// Whether `method` only reads (listed at ClientOptions::pipeline_check):
/// such a call may go out with the pipelined check.
bool reads_only(std::string_view method);
}  // namespace detail

}  // namespace harnesssync
