// By-name params: the types a method's spec gives its params, each with one
// JSON Schema text (what rpc.discover publishes) and one check (what the
// dispatcher enforces), so the two cannot disagree; and the readers of
// params. A problem is -32602 with {"field", "reason"}.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
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

/// Decodes and checks params one by one, for callers without a spec (the
/// first problem is kept; later reads return defaults, so a caller reads
/// everything, then checks ok() once).
class Params {
 public:
  explicit Params(const boost::json::object& params) : p_(params) {}

  /// A required string.
  std::string str(std::string_view name);
  std::optional<std::string> opt_str(std::string_view name);
  /// A required target or account name (1-64 of A-Z a-z 0-9 . _ -).
  std::string name(std::string_view field);
  std::optional<std::string> opt_name(std::string_view field);
  /// A path: non-empty, no NUL, at most 4096 bytes.
  std::optional<std::string> opt_path(std::string_view field);
  /// A required count: an integer from 0 to 2^53-1.
  int64_t count(std::string_view field);
  /// An optional integer in [lo, hi].
  std::optional<int64_t> opt_int(std::string_view field, int64_t lo, int64_t hi);
  /// {path: string}; `required` false gives {} when absent.
  boost::json::object path_map(std::string_view field, bool required);
  /// [path, ...] (required).
  std::vector<std::string> paths(std::string_view field);
  /// [name, ...] (optional).
  std::optional<std::vector<std::string>> opt_names(std::string_view field);

  /// Fails on members not in `known`. Call after reading.
  void no_others(std::initializer_list<std::string_view> known);

  bool ok() const { return !error_; }
  const RpcError& error() const { return *error_; }

 private:
  /// The member if present and valid as `type`; null otherwise (missing
  /// and required, or invalid: the error is kept).
  const boost::json::value* take(std::string_view field, ParamType type, bool required);
  void fail(std::string_view field, std::string reason);

  const boost::json::object& p_;
  std::optional<RpcError> error_;
};

}  // namespace hs::proto
