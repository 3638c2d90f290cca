// Message framing (PROTOCOL.md, "Framing"), told apart per message by its
// first byte: '{' or '[' starts a bare JSON text, which ends where its value
// ends (it may span lines); anything else starts LSP-style
// "Content-Length: N" headers. Incremental: bytes are fed as they arrive and
// parsed messages come out, so nothing is parsed twice and a bare message
// is never buffered whole as text.
#pragma once

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hs::proto {

enum class Framing { ndjson, lsp };

/// One received message.
struct Frame {
  Framing framing = Framing::ndjson;
  boost::json::value value;  // the parsed message, when parse_error is empty
  std::string parse_error;   // invalid JSON: why (answered with -32700)
  size_t size = 0;           // bytes of the message, without its framing
  bool ok() const { return parse_error.empty(); }
};

enum class FrameError {
  none,
  too_large,   // the message exceeds the size limit (answered with -32001)
  bad_header,  // LSP headers without a valid Content-Length, or too long
};

/// Appends one message body, framed, to `out`.
void append_frame(std::string& out, Framing framing, std::string_view body);
/// One message body, framed.
std::string encode_frame(Framing framing, std::string_view body);
/// The size append_frame adds for a body of `body_size` bytes.
size_t framed_size(Framing framing, size_t body_size);
/// The LSP header for a body of `body_size` bytes.
std::string lsp_header(size_t body_size);

class FrameParser {
 public:
  /// Bytes of one LSP header block at most; real clients send ~30.
  static constexpr size_t kMaxHeaderBytes = 8192;
  static constexpr size_t kMaxDepth = 64;

  explicit FrameParser(size_t max_message_bytes, size_t max_depth = kMaxDepth);

  /// Appends received bytes.
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// The next message (parsed, or with its parse error), or nullopt when
  /// more bytes are needed or a framing error occurred (see error(); those
  /// are final for the connection). After a parse error in a bare JSON
  /// message, the rest of its line is skipped: that is where a client that
  /// sends one message per line starts its next one.
  std::optional<Frame> next();
  /// Call once the peer closed its sending side and next() gave nullopt:
  /// a message left unfinished becomes a parse error ("end of input").
  std::optional<Frame> end_of_input();
  FrameError error() const { return error_; }
  /// True while part of an unfinished message has been received (the
  /// partial-message timeout runs only then).
  bool mid_message() const;
  /// True when complete bytes are buffered that next() has not looked at.
  bool has_buffered() const;
  /// The framing of the message in progress or last seen.
  Framing framing() const { return framing_; }

 private:
  std::optional<Frame> next_ndjson();
  std::optional<Frame> next_lsp();
  void compact();
  Frame parse_failed(std::string why, size_t size);

  size_t max_;
  std::unique_ptr<boost::json::stream_parser> sp_;  // boxed: keeps FrameParser movable
  std::string buf_;
  size_t pos_ = 0;          // start of unparsed bytes
  size_t scan_ = 0;         // how far the search for the end of LSP headers got
  bool in_json_ = false;    // sp_ holds part of a bare JSON message
  size_t json_bytes_ = 0;   // bytes of it fed so far
  bool skip_line_ = false;  // after a parse error: drop bytes up to the next '\n'
  Framing framing_ = Framing::ndjson;
  FrameError error_ = FrameError::none;
};

}  // namespace hs::proto
