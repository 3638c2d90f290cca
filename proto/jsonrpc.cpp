#include "proto/jsonrpc.hpp"

#include <cmath>

#include "proto/wire_json.hpp"

namespace hs::proto {
namespace json = boost::json;

RpcError RpcError::invalid_params(std::string field, std::string reason) {
  RpcError e;
  e.code = code::invalid_params;
  e.message = "Invalid params: " + field + ": " + reason;
  e.data = json::object{{"field", field}, {"reason", reason}};
  return e;
}

std::string_view default_message(int c) {
  switch (c) {
    case code::parse_error: return "Parse error";
    case code::invalid_request: return "Invalid Request";
    case code::method_not_found: return "Method not found";
    case code::invalid_params: return "Invalid params";
    case code::internal_error: return "Internal error";
    case code::shutting_down: return "Server shutting down";
    case code::message_too_large: return "Message too large";
    case code::state_write_failed: return "State write failed";
    case code::lock_not_held: return "Lock not held by this connection";
    default: return "Error";
  }
}

namespace {

Invalid invalid(json::value id, std::string why) {
  RpcError e;
  e.code = code::invalid_request;
  e.message = "Invalid Request: " + why;
  return {std::move(id), std::move(e)};
}

bool is_id(const json::value& v) { return v.is_string() || v.is_number() || v.is_null(); }

// 1e400 parses as an infinite double, which no JSON text can echo back.
bool is_finite_id(const json::value& v) { return !v.is_double() || std::isfinite(v.get_double()); }

}  // namespace

std::variant<Request, Invalid> to_request(const json::value& msg) {
  if (!msg.is_object()) return invalid(nullptr, "a request must be an object");
  const json::object& o = msg.get_object();
  // Echo the id wherever it could be read, even when the rest is invalid.
  const json::value* id = o.if_contains("id");
  json::value echo = id != nullptr && is_id(*id) && is_finite_id(*id) ? *id : json::value(nullptr);
  if (id != nullptr && !is_id(*id)) return invalid(nullptr, "id must be a string, a number or null");
  if (id != nullptr && !is_finite_id(*id)) return invalid(nullptr, "id is a number out of range");
  const json::value* version = o.if_contains("jsonrpc");
  if (version == nullptr || !version->is_string() || version->get_string() != "2.0") {
    return invalid(echo, "jsonrpc must be exactly \"2.0\"");
  }
  const json::value* method = o.if_contains("method");
  if (method == nullptr || !method->is_string()) return invalid(echo, "method must be a string");
  const json::value* params = o.if_contains("params");
  if (params != nullptr && params->is_null()) params = nullptr;  // editors send null for "no params"
  Request r;
  if (id != nullptr) r.id = *id;
  r.method = std::string(method->get_string());
  if (params != nullptr) {
    if (params->is_array()) {
      // By-position params are valid JSON-RPC; this server takes only names.
      Invalid bad{echo, RpcError::invalid_params("params", "must be an object (by-name parameters)")};
      bad.silent = r.is_notification();  // notifications get no answer, not even this
      return bad;
    }
    if (!params->is_object()) return invalid(echo, "params must be an object or an array");
    r.params = params->get_object();
  }
  return r;
}

json::object make_result(const json::value& id, json::value result) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["result"] = std::move(result);
  return o;
}

json::object make_error(const json::value& id, const RpcError& err) {
  json::object e;
  e["code"] = err.code;
  e["message"] = err.message.empty() ? std::string(default_message(err.code)) : err.message;
  if (!err.data.is_null()) e["data"] = err.data;
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["error"] = std::move(e);
  return o;
}

void append_result_head(std::string& out, const json::value& id) {
  out += R"({"jsonrpc":"2.0","id":)";
  append_wire_json(out, id);
  out += R"(,"result":)";
}

void append_result(std::string& out, const json::value& id, const json::value& result) {
  append_result_head(out, id);
  append_wire_json(out, result);
  out += '}';
}

void append_error(std::string& out, const json::value& id, const RpcError& err) {
  append_wire_json(out, make_error(id, err));
}

}  // namespace hs::proto
