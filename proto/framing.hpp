// Message framing (PROTOCOL.md, "Framing"), told apart per message by its
// first byte: '{' or '[' starts newline-delimited JSON; anything else starts
// LSP-style "Content-Length: N" headers. Incremental: bytes are fed as they
// arrive and complete messages come out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hs::proto {

enum class Framing { ndjson, lsp };

struct Frame {
  Framing framing;
  std::string body;  // one JSON text, without its framing
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

class FrameParser {
 public:
  /// Bytes of one LSP header block at most; real clients send ~30.
  static constexpr size_t kMaxHeaderBytes = 8192;

  explicit FrameParser(size_t max_message_bytes) : max_(max_message_bytes) {}

  /// Appends received bytes.
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// The next complete message, or nullopt when more bytes are needed or an
  /// error occurred (see error(); errors are final for the connection).
  std::optional<Frame> next();
  FrameError error() const { return error_; }
  /// True while bytes of an unfinished message are buffered (the partial-
  /// message timeout runs only then).
  bool mid_message() const;
  /// The framing of the message in progress or last seen.
  Framing framing() const { return framing_; }

 private:
  void skip_whitespace();
  std::optional<Frame> next_ndjson();
  std::optional<Frame> next_lsp();
  void consume(size_t end);

  size_t max_;
  std::string buf_;
  size_t pos_ = 0;   // start of unparsed bytes
  size_t scan_ = 0;  // how far a search for the end of the current message got
  Framing framing_ = Framing::ndjson;
  FrameError error_ = FrameError::none;
};

}  // namespace hs::proto
