#include "proto/params.hpp"

#include "common/validate.hpp"

namespace hs::proto {
namespace json = boost::json;

void Params::fail(std::string_view field, std::string reason) {
  if (!error_) error_ = RpcError::invalid_params(std::string(field), std::move(reason));
}

const json::value* Params::get(std::string_view name, bool required) {
  if (error_) return nullptr;
  const json::value* v = p_.if_contains(name);
  if (v == nullptr && required) fail(name, "missing");
  return v;
}

std::string Params::str(std::string_view name) {
  const json::value* v = get(name, true);
  if (v == nullptr) return {};
  if (!v->is_string()) {
    fail(name, "must be a string");
    return {};
  }
  return std::string(v->get_string());
}

std::optional<std::string> Params::opt_str(std::string_view name) {
  if (get(name, false) == nullptr) return std::nullopt;
  return str(name);
}

std::string Params::name(std::string_view field) {
  std::string s = str(field);
  if (ok()) {
    if (auto st = check_name(field, s); !st) fail(field, st.error().detail);
  }
  return s;
}

std::optional<std::string> Params::opt_name(std::string_view field) {
  if (get(field, false) == nullptr) return std::nullopt;
  return name(field);
}

std::optional<std::string> Params::opt_path(std::string_view field) {
  auto s = opt_str(field);
  if (s && ok()) {
    if (auto st = check_path(field, *s); !st) fail(field, st.error().detail);
  }
  return s;
}

std::optional<int64_t> Params::opt_int(std::string_view field, int64_t lo, int64_t hi) {
  const json::value* v = get(field, false);
  if (v == nullptr) return std::nullopt;
  // Only integers: 5.0 is a float in JSON text and is refused, as Python's
  // isinstance(x, int) would.
  std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (v->is_int64() && v->get_int64() >= lo && v->get_int64() <= hi) return v->get_int64();
  fail(field, v->is_number() ? range : "must be an integer");
  return std::nullopt;
}

int64_t Params::count(std::string_view field) {
  const json::value* v = get(field, true);
  if (v == nullptr) return 0;
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxCount) return v->get_int64();
  fail(field, v->is_number() ? "must be an integer from 0 to 2^53-1" : "must be an integer");
  return 0;
}

json::object Params::path_map(std::string_view field, bool required) {
  const json::value* v = get(field, required);
  if (v == nullptr) return {};
  if (!v->is_object()) {
    fail(field, "must be an object of {path: string}");
    return {};
  }
  for (const auto& [k, val] : v->get_object()) {
    if (auto st = check_path(field, k); !st) {
      fail(field, st.error().detail);
      return {};
    }
    if (!val.is_string()) {
      fail(field, "the value for \"" + std::string(k) + "\" must be a string");
      return {};
    }
  }
  return v->get_object();
}

std::vector<std::string> Params::paths(std::string_view field) {
  const json::value* v = get(field, true);
  if (v == nullptr) return {};
  if (!v->is_array()) {
    fail(field, "must be an array of paths");
    return {};
  }
  std::vector<std::string> out;
  out.reserve(v->get_array().size());
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) {
      fail(field, "every element must be a string");
      return {};
    }
    if (auto st = check_path(field, e.get_string()); !st) {
      fail(field, st.error().detail);
      return {};
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

std::optional<std::vector<std::string>> Params::opt_names(std::string_view field) {
  const json::value* v = get(field, false);
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
      fail(kv.key(), "unknown parameter");
      return;
    }
  }
}

}  // namespace hs::proto
