#include "daemon/triggers/run_record.hpp"

namespace hs::daemon::triggers {
namespace json = boost::json;
namespace {

json::value opt(const std::optional<int>& v) {
  if (v) return *v;
  return nullptr;
}
json::value opt(const std::optional<int64_t>& v) {
  if (v) return *v;
  return nullptr;
}
json::value opt(const std::optional<std::string>& v) {
  if (v) return json::value(*v);
  return nullptr;
}

json::object output_of(const RunRecord& r, size_t max) {
  return json::object{{"stdout", utf8_tail(r.stdout_tail, max)}, {"stderr", utf8_tail(r.stderr_tail, max)}};
}

Error bad_member(const char* key) { return corrupt("read", "", std::string("a run's \"") + key + "\" is missing or of the wrong type"); }

}  // namespace

std::string utf8_tail(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t at = s.size() - max;
  // Skip continuation bytes (10xxxxxx): start on a character.
  while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
  return s.substr(at);
}

std::string sanitize_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok) ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

json::object to_json(const RunRecord& r, bool with_output) {
  json::object o{
      {"run", r.run},
      {"started", r.started},
      {"ended", opt(r.ended)},
      {"exit_code", opt(r.exit_code)},
      {"signal", opt(r.signal)},
      {"timed_out", r.timed_out},
      {"coalesced", r.coalesced},
      {"changed", opt(r.changed)},
      {"duration_ms", r.duration_ms},
  };
  if (with_output) o["output"] = output_of(r, r.stdout_tail.size() + r.stderr_tail.size());
  return o;
}

Result<RunRecord> run_from_json(const json::value& v) {
  if (!v.is_object()) return corrupt("read", "", "a run is not an object");
  const auto& o = v.get_object();
  RunRecord r;
  auto int_of = [&](const char* key, bool nullable, bool& present) -> Result<int64_t> {
    const json::value* m = o.if_contains(key);
    present = false;
    if (m == nullptr || (nullable && m->is_null())) {
      if (nullable) return int64_t{0};
      return bad_member(key);
    }
    if (!m->is_int64()) return bad_member(key);
    present = true;
    return m->get_int64();
  };
  auto bool_of = [&](const char* key, bool& out) -> Status {
    const json::value* m = o.if_contains(key);
    if (m == nullptr || !m->is_bool()) return bad_member(key);
    out = m->get_bool();
    return {};
  };
  bool present = false;
  HS_TRY_ASSIGN(const int64_t run, int_of("run", false, present));
  if (run < 0) return bad_member("run");
  r.run = static_cast<uint64_t>(run);
  const json::value* started = o.if_contains("started");
  if (started == nullptr || !started->is_string()) return bad_member("started");
  r.started = std::string(started->get_string());
  if (const json::value* ended = o.if_contains("ended"); ended != nullptr && ended->is_string()) {
    r.ended = std::string(ended->get_string());
  }
  HS_TRY_ASSIGN(const int64_t code, int_of("exit_code", true, present));
  if (present) r.exit_code = static_cast<int>(code);
  HS_TRY_ASSIGN(const int64_t sig, int_of("signal", true, present));
  if (present) r.signal = static_cast<int>(sig);
  HS_TRY(bool_of("timed_out", r.timed_out));
  HS_TRY(bool_of("coalesced", r.coalesced));
  HS_TRY_ASSIGN(const int64_t changed, int_of("changed", true, present));
  if (present) r.changed = changed;
  HS_TRY_ASSIGN(r.duration_ms, int_of("duration_ms", false, present));
  if (const json::value* out = o.if_contains("output"); out != nullptr && out->is_object()) {
    const auto& oo = out->get_object();
    if (const auto* s = oo.if_contains("stdout"); s != nullptr && s->is_string()) r.stdout_tail = std::string(s->get_string());
    if (const auto* s = oo.if_contains("stderr"); s != nullptr && s->is_string()) r.stderr_tail = std::string(s->get_string());
  }
  return r;
}

json::object started_notice(const std::string& name, const RunRecord& r) {
  return json::object{{"name", name}, {"run", r.run}, {"changed", opt(r.changed)}};
}

json::object finished_notice(const std::string& name, const RunRecord& r) {
  return json::object{
      {"name", name},
      {"run", r.run},
      {"exit_code", opt(r.exit_code)},
      {"signal", opt(r.signal)},
      {"timed_out", r.timed_out},
      {"coalesced", r.coalesced},
      {"duration_ms", r.duration_ms},
      {"output_tail", output_of(r, kOutputTailBytes)},
  };
}

}  // namespace hs::daemon::triggers
