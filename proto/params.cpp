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

// ---- Params: checked one by one.

void Params::fail(std::string_view field, std::string reason) {
  if (!error_) error_ = RpcError::invalid_params(std::string(field), std::move(reason));
}

const json::value* Params::take(std::string_view field, ParamType type, bool required) {
  if (error_) return nullptr;
  const json::value* v = p_.if_contains(field);
  if (v == nullptr) {
    if (required) error_ = missing_param(field);
    return nullptr;
  }
  if (auto e = check_param(type, field, *v)) {
    error_ = std::move(*e);
    return nullptr;
  }
  return v;
}

std::string Params::str(std::string_view name) {
  const json::value* v = take(name, ParamType::string, true);
  return v != nullptr ? std::string(v->get_string()) : std::string();
}

std::optional<std::string> Params::opt_str(std::string_view name) {
  const json::value* v = take(name, ParamType::string, false);
  if (v == nullptr) return std::nullopt;
  return std::string(v->get_string());
}

std::string Params::name(std::string_view field) {
  const json::value* v = take(field, ParamType::name, true);
  return v != nullptr ? std::string(v->get_string()) : std::string();
}

std::optional<std::string> Params::opt_name(std::string_view field) {
  const json::value* v = take(field, ParamType::name, false);
  if (v == nullptr) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<std::string> Params::opt_path(std::string_view field) {
  const json::value* v = take(field, ParamType::path, false);
  if (v == nullptr) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<int64_t> Params::opt_int(std::string_view field, int64_t lo, int64_t hi) {
  if (error_) return std::nullopt;
  const json::value* v = p_.if_contains(field);
  if (v == nullptr) return std::nullopt;
  std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (v->is_int64() && v->get_int64() >= lo && v->get_int64() <= hi) return v->get_int64();
  fail(field, v->is_number() ? range : "must be an integer");
  return std::nullopt;
}

int64_t Params::count(std::string_view field) {
  const json::value* v = take(field, ParamType::count, true);
  return v != nullptr ? v->get_int64() : 0;
}

json::object Params::path_map(std::string_view field, bool required) {
  const json::value* v = take(field, ParamType::path_map, required);
  return v != nullptr ? v->get_object() : json::object();
}

std::vector<std::string> Params::paths(std::string_view field) {
  if (take(field, ParamType::paths, true) == nullptr) return {};
  return Args(p_).paths(field);
}

std::optional<std::vector<std::string>> Params::opt_names(std::string_view field) {
  if (error_) return std::nullopt;
  const json::value* v = p_.if_contains(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) {
    fail(field, "must be an array of names");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_string() || !is_valid_name(e.get_string())) {
      fail(field, "every element must be a name of 1 to 64 characters of A-Z a-z 0-9 . _ -");
      return std::nullopt;
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

void Params::no_others(std::initializer_list<std::string_view> known) {
  if (error_) return;
  for (const auto& kv : p_) {
    bool found = false;
    for (auto k : known) found |= kv.key() == k;
    if (!found) {
      error_ = unknown_param(kv.key());
      return;
    }
  }
}

}  // namespace hs::proto
