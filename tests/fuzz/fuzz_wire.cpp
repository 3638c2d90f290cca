// libFuzzer target for everything the daemon does with a client's bytes
// before a method runs: framing (both kinds, fed in chunks of every size),
// JSON parsing, request validation and param decoding. Boost.JSON is
// compiled into this target (json_src.cpp) so that it is instrumented too.
#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/framing.hpp"
#include "proto/jsonrpc.hpp"
#include "proto/params.hpp"
#include "proto/wire_json.hpp"

namespace json = boost::json;
using namespace hs::proto;

namespace {

void exercise_params(const json::object& params) {
  // The checks every method's spec applies (daemon/rpc/method_table),
  // of every param type, over whatever the fuzzer sent.
  constexpr ParamType kTypes[] = {ParamType::name,       ParamType::string,  ParamType::path,
                                  ParamType::path_map,   ParamType::paths,   ParamType::count,
                                  ParamType::object_map, ParamType::boolean, ParamType::number,
                                  ParamType::history_n,  ParamType::names};
  for (const auto& kv : params) {
    for (ParamType t : kTypes) {
      if (auto e = check_param(t, kv.key(), kv.value())) (void)make_error(nullptr, *e);
    }
  }
}

// Equal, except that a double may come back a few ulps off: Boost.JSON
// 1.81 does not parse back every double it writes exactly (a 60-digit
// mantissa, say), and no reader of ours depends on the last bits.
bool same_value(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      if (!same_value(p[i], q[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (const auto& kv : p) {
      const json::value* other = q.if_contains(kv.key());
      if (other == nullptr || !same_value(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool has_non_finite(const json::value& v) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  if (v.is_array()) {
    for (const auto& e : v.get_array()) {
      if (has_non_finite(e)) return true;
    }
  }
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (has_non_finite(kv.value())) return true;
    }
  }
  return false;
}

void handle(const Frame& f) {
  if (!f.ok()) {
    if (f.parse_error.rfind("Parse error: ", 0) != 0) __builtin_trap();
    return;
  }
  const json::value& v = f.value;
  // What the daemon sends (wire JSON) must frame back to the same value. It
  // only ever sends objects and arrays, the one kind a bare JSON message can
  // carry (its first byte decides the framing); LSP framing carries any
  // JSON text.
  const std::string text = to_wire_json(v);
  const bool container = v.is_object() || v.is_array();
  for (Framing fr : {Framing::ndjson, Framing::lsp}) {
    if (fr == Framing::ndjson && !container) continue;
    FrameParser back(1 << 20);
    back.feed(encode_frame(fr, text));
    auto again = back.next();
    if (!again || !again->ok() || back.mid_message()) __builtin_trap();
    // A non-finite number (1e400, or 0e400 which Boost.JSON 1.81 reads as
    // NaN) is written 1e999 or null: it need not come back equal, only valid.
    if (!has_non_finite(v) && !same_value(again->value, v)) __builtin_trap();
  }
  auto one = [](const json::value& m) {
    auto r = to_request(m);
    if (auto* req = std::get_if<Request>(&r)) {
      exercise_params(req->params);
      std::string out;
      if (req->id) append_result(out, *req->id, json::value("pong"));
      if (out.find("Infinity") != std::string::npos || out.find("NaN") != std::string::npos) __builtin_trap();
    } else {
      const auto& bad = std::get<Invalid>(r);
      std::string out;
      append_error(out, bad.id, bad.error);
    }
  };
  if (v.is_array()) {
    for (const auto& e : v.get_array()) one(e);
  } else {
    one(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so every split point gets tried.
  size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  FrameParser parser(4096);
  for (size_t i = 0; i < bytes.size() && parser.error() == FrameError::none; i += chunk) {
    parser.feed(bytes.substr(i, chunk));
    while (auto f = parser.next()) handle(*f);
  }
  if (parser.error() == FrameError::none) {
    while (auto f = parser.next()) handle(*f);
    if (auto last = parser.end_of_input()) handle(*last);  // the peer closed its side
    if (parser.mid_message()) __builtin_trap();
  }
  return 0;
}
