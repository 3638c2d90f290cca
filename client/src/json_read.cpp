#include "client/src/json_read.hpp"

#include "client/src/errors.hpp"
#include "common/result.hpp"

namespace harnesssync::detail {
namespace json = boost::json;

json::array to_array(const std::vector<std::string>& v) { return json::array(v.begin(), v.end()); }

json::object to_object(const std::vector<std::pair<std::string, std::string>>& kv) {
  json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

std::vector<std::string> to_strings(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

const json::value* member(const json::object& o, std::string_view key, json::kind kind) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->kind() == kind ? v : nullptr;
}

Result<json::object> object_result(Result<json::value> r, std::string_view method) {
  HS_TRY_ASSIGN(json::value v, std::move(r));
  if (!v.is_object()) return protocol_error(std::string(method) + ": the answer is not an object");
  return std::move(v.get_object());
}

Result<Done> done_result(const Result<json::value>& r) {
  if (!r) return r.error();
  return Done{};
}

}  // namespace harnesssync::detail
