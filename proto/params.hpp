// By-name params: the types a method's spec gives its params, each with one
// JSON Schema text (what rpc.discover publishes) and one check (what the
// dispatcher enforces), so the two cannot disagree; and the readers of
// params. A problem is -32602 with {"field", "reason"}.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/jsonrpc.hpp"

namespace hs::proto {

enum class ParamType {
  name,      // a target or account name: 1-64 of A-Z a-z 0-9 . _ -
  string,    // any string
  path,      // a string path: non-empty, no NUL, at most 4096 bytes
  path_map,  // {path: string}
  paths,     // [path, ...]
  count,     // an integer from 0 to 2^53-1
  object_map,  // {name: object} (plugins)
  boolean,   // true or false
  number,    // a JSON number, integer or not (true and false are not numbers)
  history_n, // an integer from 1 to 90 (health.history)
  names,     // [name, ...] (state.subscribe's targets)
  // Triggers (docs/PROTOCOL.md, "Triggers"):
  watch_paths,   // [absolute path, ...]: 1 to 256
  argv,          // [string, ...]: at least one, the first not empty, no NUL
  abs_path,      // an absolute path
  env_map,       // {name: string}: names without = or NUL
  lock_or_null,  // a lock name, or null for none
  settle_ms,     // an integer from 0 to 60000
  duration_ms,   // an integer from 0 to 2^40 (max_wait_ms, timeout_ms: their own floors are the method's)
  log_runs,      // an integer from 1 to 100 (trigger.log)
};

/// The JSON Schema of a param of `type`, as JSON text.
std::string_view param_schema(ParamType type);
/// Whether `value` is a valid `type`; else -32602 naming `field`.
std::optional<RpcError> check_param(ParamType type, std::string_view field, const boost::json::value& value);
/// -32602 "unknown parameter" for `field`.
RpcError unknown_param(std::string_view field);
/// -32602 "missing" for `field`.
RpcError missing_param(std::string_view field);

/// Reads params a spec has already checked (check_param): absent optional
/// params give nullopt or empty values.
class Args {
 public:
  explicit Args(const boost::json::object& params) : p_(params) {}
  bool has(std::string_view field) const { return p_.contains(field); }
  std::string str(std::string_view field) const;
  std::optional<std::string> opt_str(std::string_view field) const;
  int64_t count(std::string_view field) const;
  boost::json::object path_map(std::string_view field) const;
  std::vector<std::string> paths(std::string_view field) const;
  /// The param as it was sent; null when absent.
  const boost::json::value& raw(std::string_view field) const;

 private:
  const boost::json::object& p_;
};

}  // namespace hs::proto
