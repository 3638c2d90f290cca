// JSON-RPC 2.0 messages (PROTOCOL.md): validation of requests, and the
// response and error objects. Shared by the daemon and the client library.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <variant>

namespace hs::proto {

namespace code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int shutting_down = -32000;
inline constexpr int message_too_large = -32001;
inline constexpr int over_limit = -32001;  // any per-connection limit, with {"limit": N}
inline constexpr int state_write_failed = 1;
inline constexpr int lock_not_held = 2;
inline constexpr int no_such_trigger = 2;  // trigger.remove, with {"name"}
}  // namespace code

/// The version of this protocol (daemon.info's "protocol").
inline constexpr int kProtocolVersion = 1;

struct RpcError {
  int code = code::internal_error;
  std::string message;
  boost::json::value data;  // null: no "data" member

  static RpcError invalid_params(std::string field, std::string reason);
};

/// A valid request or notification.
struct Request {
  std::optional<boost::json::value> id;  // absent: a notification
  std::string method;
  boost::json::object params;  // {} when absent
  bool is_notification() const { return !id.has_value(); }
};

/// A message that is not a valid request: answered with `error` and `id`
/// (null where the id could not be read).
struct Invalid {
  boost::json::value id;
  RpcError error;
  bool silent = false;  // a notification: dropped without an answer
};

/// Validates one message (a batch element or a whole message).
std::variant<Request, Invalid> to_request(const boost::json::value& msg);

/// {"jsonrpc": "2.0", "id": id, "result": result}
boost::json::object make_result(const boost::json::value& id, boost::json::value result);
/// {"jsonrpc": "2.0", "id": id, "error": {"code", "message", "data"?}}
boost::json::object make_error(const boost::json::value& id, const RpcError& err);

/// Responses written straight into an output buffer as wire JSON (never
/// Infinity or NaN), without building an object first.
/// `{"jsonrpc":"2.0","id":<id>,"result":` : the caller appends the result and '}'.
void append_result_head(std::string& out, const boost::json::value& id);
void append_result(std::string& out, const boost::json::value& id, const boost::json::value& result);
void append_error(std::string& out, const boost::json::value& id, const RpcError& err);

/// The standard message for a code ("Parse error", "Invalid params", ...).
std::string_view default_message(int code);

}  // namespace hs::proto
