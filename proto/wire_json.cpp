#include "proto/wire_json.hpp"

#include <boost/json/serializer.hpp>
#include <cstring>

namespace hs::proto {
namespace json = boost::json;
namespace {

// Rewrites the Infinity/-Infinity/NaN tokens that Boost.JSON wrote for
// non-finite doubles, from `from` on. Only tokens outside strings are
// numbers; inside strings the same letters are text and stay.
void fix_non_finite(std::string& out, size_t from) {
  std::string fixed;
  fixed.reserve(out.size() - from);
  bool in_string = false;
  for (size_t i = from; i < out.size(); ++i) {
    char c = out[i];
    if (in_string) {
      fixed += c;
      if (c == '\\') {
        fixed += out[++i];  // an escape: the next byte is never a closing quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      fixed += c;
    } else if (out.compare(i, 8, "Infinity") == 0) {
      fixed += "1e999";
      i += 7;
    } else if (out.compare(i, 3, "NaN") == 0) {
      fixed += "null";
      i += 2;
    } else {
      fixed += c;  // "-Infinity" keeps its sign: "-" then "1e999"
    }
  }
  out.resize(from);
  out += fixed;
}

}  // namespace

void append_wire_json(std::string& out, const json::value& v) {
  const size_t from = out.size();
  json::serializer sr;
  sr.reset(&v);
  char buf[16384];
  while (!sr.done()) out += sr.read(buf, sizeof buf);
  // Outside strings, Boost.JSON writes the letter 'I' or 'N' only for
  // non-finite doubles, so this scan is cheap and almost never rewrites.
  const char* data = out.data() + from;
  const size_t n = out.size() - from;
  if (std::memchr(data, 'I', n) == nullptr && std::memchr(data, 'N', n) == nullptr) return;
  if (out.find("Infinity", from) == std::string::npos && out.find("NaN", from) == std::string::npos) return;
  fix_non_finite(out, from);
}

std::string to_wire_json(const json::value& v) {
  std::string out;
  append_wire_json(out, v);
  return out;
}

}  // namespace hs::proto
