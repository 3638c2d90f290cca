#include "daemon/store/python_str.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

// repr(float) (Python's float_repr_style "short"): the shortest digits that
// round-trip, in fixed notation when the decimal point falls within
// -4 < decpt <= 16, else in exponent notation with at least two exponent
// digits; fixed notation always has a fractional part ("1.0").
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  // Scientific shortest round-trip form: "d[.ddd]e[+-]XX".
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  std::string out;
  if (s.front() == '-') {
    out = "-";
    s.remove_prefix(1);
  }
  const size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  const int decpt = exp + 1;  // digits are d.ddd * 10^exp
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) out += "." + digits.substr(1);
    std::string e10 = std::to_string(exp < 0 ? -exp : exp);
    return out + (exp < 0 ? "e-" : "e+") + (e10.size() < 2 ? "0" : "") + e10;
  }
  if (decpt <= 0) return out + "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  if (decpt >= n) return out + digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
  return out + digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
}

// Decodes one UTF-8 sequence at s[i] (the store only holds valid UTF-8).
char32_t next_code_point(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i++]);
  if (b < 0x80) return b;
  int more = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
  char32_t cp = b & (0x3F >> more);
  for (; more > 0 && i < s.size(); --more) cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  return cp;
}

// Python's str.isprintable() is false for these non-ASCII code points:
// categories Cc, Zs (other than ' '), Zl, Zp, Cf, Co, and the noncharacters.
bool non_printable(char32_t c) {
  struct Range {
    char32_t lo, hi;
  };
  static constexpr Range kRanges[] = {
      {0x80, 0xA0},        {0xAD, 0xAD},         {0x600, 0x605},       {0x61C, 0x61C},
      {0x6DD, 0x6DD},      {0x70F, 0x70F},       {0x890, 0x891},       {0x8E2, 0x8E2},
      {0x1680, 0x1680},    {0x180E, 0x180E},     {0x2000, 0x200F},     {0x2028, 0x202F},
      {0x205F, 0x2064},    {0x2066, 0x206F},     {0x3000, 0x3000},     {0xD800, 0xF8FF},
      {0xFDD0, 0xFDEF},    {0xFEFF, 0xFEFF},     {0xFFF9, 0xFFFB},     {0x110BD, 0x110BD},
      {0x110CD, 0x110CD},  {0x1BCA0, 0x1BCA3},   {0x1D173, 0x1D17A},   {0xE0001, 0xE0001},
      {0xE0020, 0xE007F},  {0xF0000, 0x10FFFF},
  };
  if ((c & 0xFFFE) == 0xFFFE) return true;  // U+xFFFE and U+xFFFF of every plane
  for (const auto& r : kRanges) {
    if (c >= r.lo && c <= r.hi) return true;
  }
  return false;
}

// \xNN, \uNNNN or \UNNNNNNNN, lowercase, as repr(str) escapes.
void append_escape(std::string& out, char32_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const int width = c <= 0xFF ? 2 : c <= 0xFFFF ? 4 : 8;
  out += width == 2 ? "\\x" : width == 4 ? "\\u" : "\\U";
  for (int shift = (width - 1) * 4; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 0xF];
}

// repr(str): single quotes unless the string has ' and no ".
void append_str_repr(std::string& out, std::string_view s) {
  const char quote = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  out += quote;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    char32_t c = next_code_point(s, i);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && non_printable(c))) {
      append_escape(out, c);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out += quote;
}

void append_repr(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      append_str_repr(out, v.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, e);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ", ";
        first = false;
        append_str_repr(out, kv.key());
        out += ": ";
        append_repr(out, kv.value());
      }
      out += '}';
      return;
    }
    default:
      out += python_str(v);
  }
}

// JSON integers and bools are Python ints (True == 1). Values
// above INT64_MAX are uint64 (see int_equal).
bool is_integral_kind(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_bool(); }

// Exact int == int, across int64, uint64 and bool.
bool int_equal(const json::value& a, const json::value& b) {
  auto as_signed = [](const json::value& v, int64_t& out) {
    if (v.is_bool()) return out = v.get_bool() ? 1 : 0, true;
    if (v.is_int64()) return out = v.get_int64(), true;
    return false;  // uint64: above INT64_MAX
  };
  int64_t x = 0, y = 0;
  bool sa = as_signed(a, x), sb = as_signed(b, y);
  if (sa && sb) return x == y;
  if (!sa && !sb) return a.get_uint64() == b.get_uint64();
  return false;  // one is above INT64_MAX, the other is not
}

// Exact int == float, as Python compares them (no rounding of the int).
bool int_float_equal(const json::value& i, double d) {
  if (!std::isfinite(d) || d != std::floor(d)) return false;
  if (i.is_uint64()) return d >= 0x1p63 && d < 0x1p64 && static_cast<uint64_t>(d) == i.get_uint64();
  int64_t x = i.is_bool() ? (i.get_bool() ? 1 : 0) : i.get_int64();
  return d >= -0x1p63 && d < 0x1p63 && static_cast<int64_t>(d) == x;
}

}  // namespace

std::string python_str(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "None";
    case json::kind::bool_: return v.get_bool() ? "True" : "False";
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return float_repr(v.get_double());
    case json::kind::string: return std::string(v.get_string());
    default: {
      std::string out;
      append_repr(out, v);
      return out;
    }
  }
}

bool python_equal(const json::value& a, const json::value& b) {
  const bool na = is_integral_kind(a) || a.is_double();
  const bool nb = is_integral_kind(b) || b.is_double();
  if (na || nb) {
    if (!(na && nb)) return false;
    if (a.is_double() && b.is_double()) return a.get_double() == b.get_double();
    if (a.is_double()) return int_float_equal(b, a.get_double());
    if (b.is_double()) return int_float_equal(a, b.get_double());
    return int_equal(a, b);
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null: return true;
    case json::kind::string: return a.get_string() == b.get_string();
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!python_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const json::value* other = y.if_contains(kv.key());
        if (other == nullptr || !python_equal(kv.value(), *other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace hs::daemon::store
