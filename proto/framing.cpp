#include "proto/framing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/json/parse_options.hpp>

namespace hs::proto {
namespace json = boost::json;
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void append_frame(std::string& out, Framing framing, std::string_view body) {
  if (framing == Framing::lsp) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n\r\n";
    out += body;
  } else {
    out += body;
    out += '\n';
  }
}

std::string encode_frame(Framing framing, std::string_view body) {
  std::string out;
  out.reserve(framed_size(framing, body.size()));
  append_frame(out, framing, body);
  return out;
}

size_t framed_size(Framing framing, size_t body_size) {
  if (framing == Framing::ndjson) return body_size + 1;
  return body_size + std::to_string(body_size).size() + 20;  // "Content-Length: " + "\r\n\r\n"
}

std::string lsp_header(size_t body_size) {
  return "Content-Length: " + std::to_string(body_size) + "\r\n\r\n";
}

namespace {
json::parse_options parse_options(size_t max_depth) {
  json::parse_options o;
  o.max_depth = max_depth;
  return o;
}
}  // namespace

FrameParser::FrameParser(size_t max_message_bytes, size_t max_depth)
    : max_(max_message_bytes), sp_(std::make_unique<json::stream_parser>(json::storage_ptr(), parse_options(max_depth))) {}

void FrameParser::compact() {
  // Drop consumed bytes once they dominate the buffer: amortised O(1) per byte.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = scan_ = 0;
  } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    scan_ = scan_ > pos_ ? scan_ - pos_ : 0;
    pos_ = 0;
  }
}

bool FrameParser::mid_message() const {
  if (in_json_) return true;
  for (size_t i = pos_; i < buf_.size(); ++i) {
    if (!is_space(buf_[i])) return true;
  }
  return false;
}

bool FrameParser::has_buffered() const { return error_ == FrameError::none && pos_ < buf_.size(); }

Frame FrameParser::parse_failed(std::string why, size_t size) {
  Frame f;
  f.framing = framing_;
  f.parse_error = "Parse error: " + std::move(why);
  f.size = size;
  return f;
}

std::optional<Frame> FrameParser::next() {
  if (error_ != FrameError::none) return std::nullopt;
  if (skip_line_) {
    size_t nl = buf_.find('\n', pos_);
    pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
    skip_line_ = nl == std::string::npos;
    if (skip_line_) {
      compact();
      return std::nullopt;
    }
  }
  if (!in_json_) {
    while (pos_ < buf_.size() && is_space(buf_[pos_])) ++pos_;
    if (pos_ == buf_.size()) {
      compact();
      return std::nullopt;
    }
    char first = buf_[pos_];
    framing_ = first == '{' || first == '[' ? Framing::ndjson : Framing::lsp;
    if (framing_ == Framing::lsp) return next_lsp();
    in_json_ = true;
    json_bytes_ = 0;
    sp_->reset();
  }
  return next_ndjson();
}

std::optional<Frame> FrameParser::next_ndjson() {
  // The stream parser stops at the end of the value (and the whitespace
  // after it): the next message starts right there, on the same line or not.
  const size_t start = pos_;
  boost::system::error_code ec;
  size_t n = sp_->write_some(buf_.data() + pos_, buf_.size() - pos_, ec);
  pos_ += n;
  json_bytes_ += n;
  if (ec) {
    in_json_ = false;
    // The rest of the line is skipped, unless the bad byte ends the line
    // (a raw newline inside a string).
    if (pos_ < buf_.size() && buf_[pos_] == '\n') {
      ++pos_;
    } else {
      skip_line_ = true;
    }
    Frame f = parse_failed(ec.message(), json_bytes_);
    compact();
    return f;
  }
  if (!sp_->done()) {
    // Past the limit with no end in sight: stop now, so a client cannot
    // make the daemon hold more than the limit.
    if (json_bytes_ > max_) error_ = FrameError::too_large;
    compact();
    return std::nullopt;
  }
  size_t trailing = 0;  // whitespace the parser took after the value
  while (pos_ - trailing > start && is_space(buf_[pos_ - trailing - 1])) ++trailing;
  const size_t size = json_bytes_ - trailing;
  in_json_ = false;
  if (size > max_) {
    error_ = FrameError::too_large;
    return std::nullopt;
  }
  Frame f;
  f.framing = Framing::ndjson;
  f.value = sp_->release();
  f.size = size;
  compact();
  return f;
}

std::optional<Frame> FrameParser::end_of_input() {
  if (error_ != FrameError::none || !mid_message()) return std::nullopt;
  Frame f = parse_failed("end of input inside a message", json_bytes_ + (buf_.size() - pos_));
  in_json_ = false;
  skip_line_ = false;
  buf_.clear();
  pos_ = scan_ = 0;
  return f;
}

std::optional<Frame> FrameParser::next_lsp() {
  // The header block ends with an empty line; accept bare "\n" line ends too.
  size_t hdr_end = std::string::npos, body_start = 0;
  for (size_t i = std::max(scan_, pos_ + 1); i < buf_.size(); ++i) {
    if (buf_[i] != '\n') continue;
    if (buf_[i - 1] == '\n') {
      hdr_end = i - 1;
      body_start = i + 1;
      break;
    }
    if (i >= pos_ + 3 && buf_[i - 1] == '\r' && buf_[i - 2] == '\n') {
      hdr_end = i - 2;
      body_start = i + 1;
      break;
    }
  }
  if (hdr_end == std::string::npos) {
    scan_ = buf_.size() > 0 ? buf_.size() - 1 : 0;
    if (buf_.size() - pos_ > kMaxHeaderBytes) error_ = FrameError::bad_header;
    return std::nullopt;
  }
  if (body_start - pos_ > kMaxHeaderBytes) {
    error_ = FrameError::bad_header;
    return std::nullopt;
  }
  std::optional<size_t> length;
  std::string_view headers(buf_.data() + pos_, hdr_end - pos_);
  while (!headers.empty()) {
    size_t eol = headers.find('\n');
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 1);
    line = trim(line);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      error_ = FrameError::bad_header;
      return std::nullopt;
    }
    if (!iequals(trim(line.substr(0, colon)), "content-length")) continue;
    std::string_view v = trim(line.substr(colon + 1));
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc::result_out_of_range) {
      error_ = FrameError::too_large;
      return std::nullopt;
    }
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty()) {
      error_ = FrameError::bad_header;
      return std::nullopt;
    }
    length = n;
  }
  if (!length) {
    error_ = FrameError::bad_header;
    return std::nullopt;
  }
  if (*length > max_) {
    // Known before the body arrives: refuse without buffering it.
    error_ = FrameError::too_large;
    return std::nullopt;
  }
  scan_ = hdr_end;  // resume the header search here; nothing before it changes
  if (buf_.size() - body_start < *length) return std::nullopt;
  pos_ = body_start + *length;
  scan_ = pos_;
  sp_->reset();
  boost::system::error_code ec;
  sp_->write(buf_.data() + body_start, *length, ec);
  if (!ec) sp_->finish(ec);
  std::optional<Frame> f;
  if (ec) {
    f = parse_failed(ec.message(), *length);
  } else {
    f.emplace();
    f->framing = Framing::lsp;
    f->value = sp_->release();
    f->size = *length;
  }
  compact();
  return f;
}

}  // namespace hs::proto
