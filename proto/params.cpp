#include "proto/params.hpp"

#include "common/validate.hpp"

namespace hs::proto {
namespace json = boost::json;
namespace {

std::optional<RpcError> bad(std::string_view field, std::string reason) {
  return RpcError::invalid_params(std::string(field), std::move(reason));
}

std::optional<RpcError> check(const Status& st) {
  if (st) return std::nullopt;
  return RpcError::invalid_params(st.error().field, st.error().detail);
}

}  // namespace

// Each schema states exactly what check_param below accepts.
std::string_view param_schema(ParamType type) {
  switch (type) {
    case ParamType::name:
      return R"({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"})";
    case ParamType::string:
      return R"({"type": "string"})";
    case ParamType::path:
      return R"({"type": "string", "minLength": 1, "maxLength": 4096})";
    case ParamType::path_map:
      return R"({"type": "object", "additionalProperties": {"type": "string"}, "description": "{absolute path: value}"})";
    case ParamType::paths:
      return R"({"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 4096}})";
    case ParamType::count:
      return R"({"type": "integer", "minimum": 0, "maximum": 9007199254740991})";
    case ParamType::object_map:
      return R"({"type": "object", "additionalProperties": {"type": "object"}, "description": "{name: object}"})";
    case ParamType::boolean:
      return R"({"type": "boolean"})";
    case ParamType::number:
      return R"({"type": "number"})";
    case ParamType::history_n:
      return R"({"type": "integer", "minimum": 1, "maximum": 90})";
    case ParamType::names:
      return R"({"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}})";
    case ParamType::watch_paths:
      return R"({"type": "array", "minItems": 1, "maxItems": 256, "items": {"type": "string", "pattern": "^/", "maxLength": 4096}})";
    case ParamType::argv:
      return R"({"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "argv; the first absolute, or a name on the daemon's PATH"})";
    case ParamType::abs_path:
      return R"({"type": "string", "pattern": "^/", "maxLength": 4096})";
    case ParamType::env_map:
      return R"({"type": "object", "additionalProperties": {"type": "string"}})";
    case ParamType::lock_or_null:
      return R"({"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$"})";
    case ParamType::settle_ms:
      return R"({"type": "integer", "minimum": 0, "maximum": 60000})";
    case ParamType::duration_ms:
      return R"({"type": "integer", "minimum": 0, "maximum": 1099511627776})";
    case ParamType::log_runs:
      return R"({"type": "integer", "minimum": 1, "maximum": 100})";
  }
  return R"({})";
}

std::optional<RpcError> check_param(ParamType type, std::string_view field, const json::value& v) {
  switch (type) {
    case ParamType::string:
    case ParamType::name:
    case ParamType::path:
      if (!v.is_string()) return bad(field, "must be a string");
      if (type == ParamType::name) return check(check_name(field, v.get_string()));
      if (type == ParamType::path) return check(check_path(field, v.get_string()));
      return std::nullopt;
    case ParamType::count:
      // Only integers: 5.0 is a float in JSON text and is refused, as
      // Python's isinstance(x, int) would.
      if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= kMaxCount) return std::nullopt;
      return bad(field, v.is_number() ? "must be an integer from 0 to 2^53-1" : "must be an integer");
    case ParamType::path_map:
      if (!v.is_object()) return bad(field, "must be an object of {path: string}");
      for (const auto& [k, val] : v.get_object()) {
        if (auto e = check(check_path(field, k))) return e;
        if (!val.is_string()) return bad(field, "the value for \"" + std::string(k) + "\" must be a string");
      }
      return std::nullopt;
    case ParamType::object_map:
      if (!v.is_object()) return bad(field, "must be an object of {name: object}");
      for (const auto& [k, val] : v.get_object()) {
        if (!val.is_object()) return bad(field, "the value for \"" + std::string(k) + "\" must be an object");
      }
      return std::nullopt;
    case ParamType::boolean:
      if (!v.is_bool()) return bad(field, "must be a boolean");
      return std::nullopt;
    case ParamType::number:
      if (!v.is_number()) return bad(field, "must be a number");
      return std::nullopt;
    case ParamType::history_n:
      // Only integers, as for counts.
      if (v.is_int64() && v.get_int64() >= 1 && v.get_int64() <= 90) return std::nullopt;
      return bad(field, v.is_number() ? "must be an integer from 1 to 90" : "must be an integer");
    case ParamType::names:
      if (!v.is_array()) return bad(field, "must be an array of names");
      for (const auto& e : v.get_array()) {
        if (!e.is_string()) return bad(field, "every element must be a string");
        if (auto err = check(check_name(field, e.get_string()))) return err;
      }
      return std::nullopt;
    case ParamType::watch_paths:
      if (!v.is_array()) return bad(field, "must be an array of absolute paths");
      if (v.get_array().empty() || v.get_array().size() > 256) return bad(field, "must hold 1 to 256 paths");
      for (const auto& e : v.get_array()) {
        if (auto err = check_param(ParamType::abs_path, field, e)) return err;
      }
      return std::nullopt;
    case ParamType::abs_path:
      if (!v.is_string()) return bad(field, "must be a string");
      if (auto err = check(check_path(field, v.get_string()))) return err;
      if (v.get_string()[0] != '/') return bad(field, "must be an absolute path: " + std::string(v.get_string()));
      return std::nullopt;
    case ParamType::argv:
      if (!v.is_array() || v.get_array().empty()) return bad(field, "must be a non-empty array of strings (argv)");
      for (const auto& e : v.get_array()) {
        if (!e.is_string()) return bad(field, "every element must be a string");
        if (e.get_string().find('\0') != json::string::npos) return bad(field, "an argument contains a NUL byte");
      }
      if (v.get_array()[0].get_string().empty()) return bad(field, "the command (its first element) must not be empty");
      return std::nullopt;
    case ParamType::env_map:
      if (!v.is_object()) return bad(field, "must be an object of {name: string}");
      for (const auto& [k, val] : v.get_object()) {
        if (k.empty() || k.find('=') != json::string_view::npos || k.find('\0') != json::string_view::npos) {
          return bad(field, "\"" + std::string(k) + "\" is not a variable name (empty, or holds = or NUL)");
        }
        if (!val.is_string()) return bad(field, "the value of " + std::string(k) + " must be a string");
        if (val.get_string().find('\0') != json::string::npos) {
          return bad(field, "the value of " + std::string(k) + " contains a NUL byte");
        }
      }
      return std::nullopt;
    case ParamType::lock_or_null:
      if (v.is_null()) return std::nullopt;
      if (!v.is_string()) return bad(field, "must be a lock name, or null for none");
      return check(check_name(field, v.get_string()));
    case ParamType::settle_ms:
    case ParamType::duration_ms:
    case ParamType::log_runs: {
      const int64_t lo = type == ParamType::log_runs ? 1 : 0;
      const int64_t hi = type == ParamType::settle_ms ? 60000 : type == ParamType::log_runs ? 100 : int64_t{1} << 40;
      if (v.is_int64() && v.get_int64() >= lo && v.get_int64() <= hi) return std::nullopt;
      return bad(field, v.is_number() ? "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi)
                                      : "must be an integer");
    }
    case ParamType::paths:
      if (!v.is_array()) return bad(field, "must be an array of paths");
      for (const auto& e : v.get_array()) {
        if (!e.is_string()) return bad(field, "every element must be a string");
        if (auto err = check(check_path(field, e.get_string()))) return err;
      }
      return std::nullopt;
  }
  return bad(field, "has an unknown type");
}

RpcError unknown_param(std::string_view field) { return RpcError::invalid_params(std::string(field), "unknown parameter"); }
RpcError missing_param(std::string_view field) { return RpcError::invalid_params(std::string(field), "missing"); }

// ---- Args: params already checked.

std::string Args::str(std::string_view field) const {
  const json::value* v = p_.if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::string> Args::opt_str(std::string_view field) const {
  if (!has(field)) return std::nullopt;
  return str(field);
}

int64_t Args::count(std::string_view field) const {
  const json::value* v = p_.if_contains(field);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

json::object Args::path_map(std::string_view field) const {
  const json::value* v = p_.if_contains(field);
  return v != nullptr && v->is_object() ? v->get_object() : json::object();
}

const json::value& Args::raw(std::string_view field) const {
  static const json::value kNull;
  const json::value* v = p_.if_contains(field);
  return v != nullptr ? *v : kNull;
}

std::vector<std::string> Args::paths(std::string_view field) const {
  std::vector<std::string> out;
  const json::value* v = p_.if_contains(field);
  if (v == nullptr || !v->is_array()) return out;
  out.reserve(v->get_array().size());
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

}  // namespace hs::proto
