// The wire: incremental framing and JSON-RPC request validation.
#include <boost/json.hpp>

#include "proto/framing.hpp"
#include "proto/jsonrpc.hpp"
#include "proto/params.hpp"
#include "proto/wire_json.hpp"
#include "tests/catch.hpp"

namespace json = boost::json;
using namespace hs::proto;

namespace {

std::vector<Frame> feed_all(FrameParser& p, std::string_view bytes, size_t chunk) {
  std::vector<Frame> out;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    p.feed(bytes.substr(i, chunk));
    while (auto f = p.next()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace

TEST_CASE("framing: both kinds, mixed, split at every byte boundary", "[proto]") {
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"daemon.ping"})";
  const std::string pretty = "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2,\n  \"method\": \"daemon.ping\"\n}";
  const std::string stream = "\r\n " + body + "\n" + encode_frame(Framing::lsp, body) + "\n\n" +
                             "content-length:  " + std::to_string(body.size()) + "\r\nX-Other: y\r\n\r\n" + body +
                             "[1,2]\r\n" + "Content-Length: 2\n\n{}" + pretty + body + body;
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}}) {
    INFO("chunk " << chunk);
    FrameParser p(1 << 20);
    auto frames = feed_all(p, stream, chunk);
    REQUIRE(frames.size() == 8);
    for (const auto& f : frames) CHECK(f.ok());
    CHECK(frames[0].framing == Framing::ndjson);
    CHECK(frames[0].value == json::parse(body));
    CHECK(frames[0].size == body.size());
    CHECK(frames[1].framing == Framing::lsp);
    CHECK(frames[1].value == json::parse(body));
    CHECK(frames[2].framing == Framing::lsp);
    CHECK(frames[2].value == json::parse(body));
    CHECK(frames[3].value == json::parse("[1,2]"));
    CHECK(frames[4].value == json::object());
    CHECK(frames[5].value == json::parse(pretty));  // spans lines: ends where the value ends
    CHECK(frames[6].value == json::parse(body));    // two on one line, no separator
    CHECK(frames[7].value == json::parse(body));
    CHECK(p.error() == FrameError::none);
    CHECK_FALSE(p.mid_message());
  }
}

TEST_CASE("framing: invalid JSON is one parse error, then the rest of its line is skipped", "[proto]") {
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1000}}) {
    INFO("chunk " << chunk);
    FrameParser p(1 << 20);
    auto frames = feed_all(p, "{\"a\": x, \"b\": {}} [1]\n{\"ok\":1}\n{\"s\":\"raw\n{\"ok\":2}\n", chunk);
    REQUIRE(frames.size() == 4);
    CHECK_FALSE(frames[0].ok());
    CHECK(frames[0].parse_error.rfind("Parse error: ", 0) == 0);
    CHECK(frames[1].value == json::parse(R"({"ok":1})"));
    CHECK_FALSE(frames[2].ok());  // a raw newline in a string: that newline ends the line
    CHECK(frames[3].value == json::parse(R"({"ok":2})"));
  }
  FrameParser lsp(1 << 20);
  lsp.feed(encode_frame(Framing::lsp, "{} {}") + encode_frame(Framing::lsp, "7"));
  auto bad = lsp.next();
  REQUIRE(bad);
  CHECK_FALSE(bad->ok());
  auto seven = lsp.next();
  REQUIRE(seven);
  CHECK(seven->value == 7);
  FrameParser deep(1 << 20);
  deep.feed(std::string(100, '[') + std::string(100, ']') + "\n{}");
  auto too_deep = deep.next();
  REQUIRE(too_deep);
  CHECK_FALSE(too_deep->ok());
  CHECK(deep.next()->value == json::object());
}

TEST_CASE("framing: end of input", "[proto]") {
  FrameParser done(1000);
  done.feed(R"({"a":1})");  // complete without a newline: a message already
  auto f = done.next();
  REQUIRE(f);
  CHECK(f->value == json::parse(R"({"a":1})"));
  CHECK_FALSE(done.end_of_input());
  FrameParser cut(1000);
  cut.feed(R"({"a":)");
  CHECK_FALSE(cut.next());
  auto last = cut.end_of_input();
  REQUIRE(last);
  CHECK_FALSE(last->ok());
  CHECK_FALSE(cut.mid_message());
}

TEST_CASE("framing: framed_size is the size append_frame adds", "[proto]") {
  for (size_t n : {size_t{0}, size_t{9}, size_t{10}, size_t{99999}, size_t{100000}}) {
    const std::string body(n, 'x');
    for (Framing f : {Framing::ndjson, Framing::lsp}) {
      INFO(n);
      CHECK(framed_size(f, n) == encode_frame(f, body).size());
      std::string out = "prefix";
      append_frame(out, f, body);
      CHECK(out == "prefix" + encode_frame(f, body));
    }
  }
}

TEST_CASE("framing: limits and bad headers", "[proto]") {
  struct Case {
    std::string bytes;
    FrameError error;
  } cases[] = {
      {"{\"" + std::string(200, 'x'), FrameError::too_large},              // unfinished, past the limit
      {"{\"" + std::string(200, 'x') + "\":1}\n", FrameError::too_large},  // complete but too large
      {"Content-Length: 101\r\n\r\n", FrameError::too_large},         // refused before the body
      {"Content-Length: 99999999999999999999999\r\n\r\n", FrameError::too_large},
      {"Content-Type: x\r\n\r\n{}", FrameError::bad_header},          // no Content-Length
      {"Content-Length: abc\r\n\r\n{}", FrameError::bad_header},
      {"Content-Length: -1\r\n\r\n{}", FrameError::bad_header},
      {"no colon here\r\n\r\n", FrameError::bad_header},
      {"X: " + std::string(9000, 'a'), FrameError::bad_header},        // endless header block
  };
  for (const auto& c : cases) {
    INFO(c.bytes.substr(0, 60));
    FrameParser p(100);
    p.feed(c.bytes);
    CHECK_FALSE(p.next());
    CHECK(p.error() == c.error);
  }
  FrameParser exact(100);
  exact.feed("[\"" + std::string(96, 'x') + "\"]\n");
  CHECK(exact.next());
}

TEST_CASE("framing: mid_message tells a started message from idle", "[proto]") {
  FrameParser p(1000);
  CHECK_FALSE(p.mid_message());
  p.feed("  \n");
  CHECK_FALSE(p.next());
  CHECK_FALSE(p.mid_message());
  p.feed("{\"a\":");
  CHECK_FALSE(p.next());
  CHECK(p.mid_message());
  p.feed("1}\n");
  CHECK(p.next());
  CHECK_FALSE(p.mid_message());
}

TEST_CASE("jsonrpc: request validation", "[proto]") {
  struct Case {
    const char* msg;
    bool valid;
    int code;         // when invalid
    const char* id;   // the echoed id, as JSON
  } cases[] = {
      {R"({"jsonrpc":"2.0","method":"m","id":1})", true, 0, "1"},
      {R"({"jsonrpc":"2.0","method":"m"})", true, 0, ""},
      {R"({"jsonrpc":"2.0","method":"m","params":{},"id":"a"})", true, 0, "\"a\""},
      {R"({"jsonrpc":"2.0","method":"m","id":null})", true, 0, "null"},
      {R"({"jsonrpc":"1.0","method":"m","id":1})", false, code::invalid_request, "1"},
      {R"({"method":"m","id":2})", false, code::invalid_request, "2"},
      {R"({"jsonrpc":"2.0","method":5,"id":3})", false, code::invalid_request, "3"},
      {R"({"jsonrpc":"2.0","method":"m","id":{}})", false, code::invalid_request, "null"},
      {R"({"jsonrpc":"2.0","method":"m","id":true})", false, code::invalid_request, "null"},
      {R"({"jsonrpc":"2.0","method":"m","params":[1],"id":4})", false, code::invalid_params, "4"},
      {R"({"jsonrpc":"2.0","method":"m","params":"x","id":5})", false, code::invalid_request, "5"},
      {R"(7)", false, code::invalid_request, "null"},
      {R"({"jsonrpc":"2.0","method":"m","params":null,"id":9})", true, 0, "9"},  // null: as if absent
      {R"({"jsonrpc":"2.0","method":"m","id":1e400})", false, code::invalid_request, "null"},
      {R"({"jsonrpc":"2.0","method":"m","id":-1e400})", false, code::invalid_request, "null"},
      {R"({"jsonrpc":"2.0","method":"m","id":1.5})", true, 0, "1.5E0"},
  };
  for (const auto& c : cases) {
    INFO(c.msg);
    auto r = to_request(json::parse(c.msg));
    CHECK(std::holds_alternative<Request>(r) == c.valid);
    if (auto* req = std::get_if<Request>(&r)) {
      CHECK(req->is_notification() == (std::string_view(c.id).empty()));
      if (req->id) CHECK(json::serialize(*req->id) == c.id);
    } else {
      const auto& bad = std::get<Invalid>(r);
      CHECK(bad.error.code == c.code);
      CHECK(json::serialize(bad.id) == c.id);
    }
  }
  auto silent = to_request(json::parse(R"({"jsonrpc":"2.0","method":"m","params":[1]})"));
  REQUIRE(std::holds_alternative<Invalid>(silent));
  CHECK(std::get<Invalid>(silent).silent);
}

TEST_CASE("jsonrpc: responses have result or error, never both", "[proto]") {
  auto ok = make_result(json::value("x"), json::value(1));
  CHECK(json::serialize(ok) == R"({"jsonrpc":"2.0","id":"x","result":1})");
  auto err = make_error(nullptr, RpcError::invalid_params("target", "missing"));
  CHECK(json::serialize(err) ==
        R"({"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Invalid params: target: missing","data":{"field":"target","reason":"missing"}}})");
}

TEST_CASE("params: each check names its field and says why", "[proto]") {
  auto e = check_param(ParamType::count, "synced", json::value(-1));
  REQUIRE(e);
  CHECK(e->data.at("field").as_string() == "synced");
  CHECK(e->data.at("reason").as_string() == "must be an integer from 0 to 2^53-1");
  CHECK_FALSE(check_param(ParamType::name, "target", json::value("codex")));
  CHECK_FALSE(check_param(ParamType::paths, "paths", json::parse(R"(["/a","/b"])")));
  CHECK(unknown_param("x").data.at("field").as_string() == "x");
  CHECK(unknown_param("x").data.at("reason").as_string() == "unknown parameter");
}

TEST_CASE("wire JSON is valid JSON whatever the numbers") {
  using hs::proto::to_wire_json;
  boost::json::value v = boost::json::parse(R"({"a": 1e400, "b": -1e400, "s": "Infinity NaN \"Infinity\"", "c": [1.5, 2]})");
  std::string text = to_wire_json(v);
  CHECK(text == R"({"a":1e999,"b":-1e999,"s":"Infinity NaN \"Infinity\"","c":[1.5E0,2]})");
  // It reads back as the same value.
  CHECK(boost::json::parse(text) == v);
  // Nothing to rewrite: the same text Boost.JSON writes.
  boost::json::value plain = boost::json::parse(R"({"x": "ok", "n": [1, 2, 3]})");
  CHECK(to_wire_json(plain) == boost::json::serialize(plain));
}
