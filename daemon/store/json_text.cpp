#include "daemon/store/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "daemon/store/python_str.hpp"

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

void indent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

void write(std::string& out, const json::value& v, int depth) {
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        indent(out, depth + 1);
        out += json::serialize(json::string_view(kv.key()));
        out += ": ";
        write(out, kv.value(), depth + 1);
      }
      out += '\n';
      indent(out, depth);
      out += '}';
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      bool first = true;
      for (const auto& e : a) {
        if (!first) out += ",\n";
        first = false;
        indent(out, depth + 1);
        write(out, e, depth + 1);
      }
      out += '\n';
      indent(out, depth);
      out += ']';
      return;
    }
    case json::kind::double_:
      // A number too large for a double (1e400 in a member we do not know)
      // parses as infinity, which Boost.JSON 1.81 would write as "Infinity":
      // not JSON, so the next start would back the file up and begin empty.
      // 1e999 is JSON, and Boost.JSON and Python both read it back as inf.
      if (!std::isfinite(v.get_double())) {
        out += v.get_double() < 0 ? "-1e999" : "1e999";
        return;
      }
      // Python's float repr, as json.dump writes it: 50.5 and 1.0, not
      // Boost.JSON's 5.05E1 and 1E0 (health scores and plugin versions).
      out += python_str(v);
      return;
    default:
      // Strings: Boost.JSON escapes exactly the characters JSON requires and
      // leaves UTF-8 as it is, as Python does with ensure_ascii=False.
      out += json::serialize(v);
      return;
  }
}

}  // namespace

std::string to_state_text(const json::value& v) {
  std::string out;
  write(out, v, 0);
  out += '\n';
  return out;
}

Result<json::value> parse_state_text(std::string_view text, const std::string& path) {
  json::parse_options opts;
  // Unknown members may nest deeper than Boost's default of 32; the writer
  // above recurses once per level, so keep a bound.
  opts.max_depth = 256;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) {
    Error e;
    e.code = Errc::corrupt;
    e.op = "parse";
    e.path = path;
    e.detail = ec.message();
    return e;
  }
  return v;
}

}  // namespace hs::daemon::store
