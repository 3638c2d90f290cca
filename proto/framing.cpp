#include "proto/framing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hs::proto {
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

void FrameParser::skip_whitespace() {
  while (pos_ < buf_.size() && is_space(buf_[pos_])) ++pos_;
  scan_ = std::max(scan_, pos_);
}

void FrameParser::consume(size_t end) {
  pos_ = end;
  scan_ = end;
  // Drop consumed bytes once they dominate the buffer: amortised O(1) per byte.
  if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
}

bool FrameParser::mid_message() const {
  for (size_t i = pos_; i < buf_.size(); ++i) {
    if (!is_space(buf_[i])) return true;
  }
  return false;
}

std::optional<Frame> FrameParser::next() {
  if (error_ != FrameError::none) return std::nullopt;
  skip_whitespace();
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = scan_ = 0;
    return std::nullopt;
  }
  char first = buf_[pos_];
  framing_ = first == '{' || first == '[' ? Framing::ndjson : Framing::lsp;
  return framing_ == Framing::ndjson ? next_ndjson() : next_lsp();
}

std::optional<Frame> FrameParser::next_ndjson() {
  size_t nl = buf_.find('\n', scan_);
  if (nl == std::string::npos) {
    scan_ = buf_.size();
    // Past the limit with no end in sight: stop buffering now, so a client
    // cannot make the daemon hold more than the limit.
    if (buf_.size() - pos_ > max_) error_ = FrameError::too_large;
    return std::nullopt;
  }
  size_t end = nl;
  if (end > pos_ && buf_[end - 1] == '\r') --end;
  if (end - pos_ > max_) {
    error_ = FrameError::too_large;
    return std::nullopt;
  }
  Frame f{Framing::ndjson, buf_.substr(pos_, end - pos_)};
  consume(nl + 1);
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
  Frame f{Framing::lsp, buf_.substr(body_start, *length)};
  consume(body_start + *length);
  return f;
}

}  // namespace hs::proto
