// Decoding by-name params. The first problem is kept and reported as -32602
// with {"field", "reason"}; later reads after an error return defaults, so a
// handler reads everything, then checks ok() once.
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
  const boost::json::value* get(std::string_view name, bool required);
  void fail(std::string_view field, std::string reason);

  const boost::json::object& p_;
  std::optional<RpcError> error_;
};

}  // namespace hs::proto
