// A connection's output without a socket: what OutputQueue counts and
// gathers, and the order BatchOrder gives a connection's answers.
#include <boost/asio/buffer.hpp>
#include <memory>
#include <string>

#include "daemon/net/batch_order.hpp"
#include "daemon/net/output_queue.hpp"
#include "tests/catch.hpp"

using hs::daemon::net::BatchOrder;
using hs::daemon::net::OutputQueue;
using hs::daemon::net::ResponseText;
using hs::proto::Framing;
using hs::proto::JsonText;

namespace {

ResponseText owned(std::string s) {
  ResponseText r;
  r.head = std::move(s);
  return r;
}

ResponseText with_shared(std::string head, JsonText text, std::string tail) {
  ResponseText r;
  r.head = std::move(head);
  r.shared = std::move(text);
  r.tail = std::move(tail);
  return r;
}

JsonText text_of(size_t n, char c) { return std::make_shared<const std::string>(n, c); }

// The bytes of one gathered write, which is then done.
std::string write_once(OutputQueue& q) {
  std::string out;
  for (const auto& b : q.gather()) out.append(static_cast<const char*>(b.data()), b.size());
  q.written();
  return out;
}

// Everything queued, as the socket would receive it.
std::string write_all(OutputQueue& q) {
  std::string out;
  while (!q.empty()) out += write_once(q);
  return out;
}

// What a session does with one message: count it, then let the order
// decide whether it is queued now.
bool send(OutputQueue& q, BatchOrder& order, ResponseText msg, Framing framing) {
  q.hold(msg);
  return order.send(std::move(msg), framing);
}

bool add(OutputQueue& q, BatchOrder& order, uint64_t batch, ResponseText msg) {
  q.hold(msg);
  return order.add(batch, std::move(msg));
}

}  // namespace

TEST_CASE("output queue: counts what is held and queued until it is written", "[output]") {
  OutputQueue q;
  ResponseText a = owned(R"({"id":1})");
  q.hold(a);
  CHECK(q.unsent_bytes() == a.head.size());
  CHECK(q.empty());  // held, not queued yet
  q.queue_message(a, Framing::ndjson);
  CHECK(q.unsent_bytes() == a.head.size() + 1);
  ResponseText b = owned(R"({"id":2})");
  q.hold(b);
  q.queue_message(b, Framing::lsp);
  CHECK(write_all(q) == "{\"id\":1}\nContent-Length: 8\r\n\r\n{\"id\":2}");
  CHECK(q.unsent_bytes() == 0);
  CHECK(q.empty());
}

TEST_CASE("output queue: a shared text is queued by reference and counted once", "[output]") {
  OutputQueue q;
  JsonText doc = text_of(1000, 'd');
  ResponseText r1 = with_shared(R"({"id":1,"result":)", doc, "}");
  ResponseText r2 = with_shared(R"({"id":2,"result":)", doc, "}");
  q.hold(r1);
  q.hold(r2);
  const size_t owned_bytes = r1.head.size() + r1.tail.size() + r2.head.size() + r2.tail.size();
  CHECK(q.unsent_bytes() == owned_bytes + 1000);
  q.queue_message(r1, Framing::ndjson);
  // Not a copy: the write's buffer is the shared text itself.
  bool points_at_text = false;
  for (const auto& b : q.gather()) points_at_text |= b.data() == doc->data();
  CHECK(points_at_text);
  q.written();
  // One answer carrying it is out; the other still holds it.
  CHECK(q.unsent_bytes() == r2.head.size() + r2.tail.size() + 1000);
  q.queue_message(r2, Framing::ndjson);
  const std::string out = write_all(q);
  CHECK(out == R"({"id":2,"result":)" + *doc + "}\n");
  CHECK(q.unsent_bytes() == 0);
}

TEST_CASE("output queue: the cap leaves out the largest shared text, and counts every other", "[output]") {
  OutputQueue q;
  ResponseText big = with_shared("h", text_of(5000, 'a'), "t");
  q.hold(big);
  CHECK_FALSE(q.over(100));  // one answer of any size goes out to a reader
  ResponseText same = with_shared("h", big.shared, "t");
  q.hold(same);
  CHECK_FALSE(q.over(100));  // the same text again costs only its own bytes
  ResponseText other = with_shared("h", text_of(200, 'b'), "t");
  q.hold(other);
  CHECK(q.unsent_bytes() == 6 + 5000 + 200);
  CHECK(q.over(100));
  CHECK_FALSE(q.over(206));
  CHECK(q.over(205));
}

TEST_CASE("output queue: one owned answer of any size goes out to a reader; a second one counts", "[output]") {
  // lock.list over a big table is owned text, not shared: it too must reach
  // a client that reads, whatever the cap (issue 17, defect 10).
  OutputQueue q;
  const size_t big_size = 4 * OutputQueue::kTrackedAnswer;
  ResponseText big = owned(std::string(big_size, 'L'));
  q.hold(big);
  CHECK_FALSE(q.over(100));
  q.queue_message(big, Framing::ndjson);
  CHECK_FALSE(q.over(100));  // the newline is 1 byte
  // A second big answer while the first is unread: the client leaves it
  // unread beyond the one it is reading.
  ResponseText second = owned(std::string(big_size, 'M'));
  q.hold(second);
  CHECK(q.over(100));
  CHECK_FALSE(q.over(big_size + 1));
  q.queue_message(second, Framing::ndjson);
  // The first is written (the client read it): the second goes uncounted now.
  CHECK(write_once(q).size() == 2 * (big_size + 1));
  CHECK(q.unsent_bytes() == 0);
  CHECK_FALSE(q.over(0));
}

TEST_CASE("output queue: an owned answer stops counting as the largest only once all of it is written",
          "[output]") {
  OutputQueue q;
  const size_t big_size = 2 * OutputQueue::kTrackedAnswer;
  ResponseText small = owned(R"({"id":1})");
  q.hold(small);
  q.queue_message(small, Framing::lsp);
  write_once(q);  // the small one is out
  ResponseText big = owned(std::string(big_size, 'x'));
  q.hold(big);
  q.queue_message(big, Framing::lsp);
  ResponseText next = owned(std::string(1000, 'y'));
  q.hold(next);
  q.queue_message(next, Framing::lsp);
  // Everything but the big answer: its header, and the next message.
  CHECK_FALSE(q.over(q.unsent_bytes() - big_size));
  CHECK(q.over(q.unsent_bytes() - big_size - 1));
  // A third, bigger one held (a batch's element): now it is the exempt one.
  ResponseText bigger = owned(std::string(big_size + 10, 'z'));
  q.hold(bigger);
  CHECK_FALSE(q.over(q.unsent_bytes() - big_size - 10));
  CHECK(q.over(q.unsent_bytes() - big_size - 11));
  q.queue_body(bigger);
  write_all(q);
  CHECK(q.unsent_bytes() == 0);
  CHECK_FALSE(q.over(0));
  q.clear();
  CHECK_FALSE(q.over(0));
}

TEST_CASE("output queue: one write takes at most kMaxIov chunks; later bytes never join a chunk in flight",
          "[output]") {
  OutputQueue q;
  std::vector<ResponseText> msgs;
  const size_t n = OutputQueue::kMaxIov;
  std::string all;
  for (size_t i = 0; i < n; ++i) {
    // An owned head and a shared text: two chunks each.
    msgs.push_back(with_shared("<", text_of(1, 'x'), ""));
    q.hold(msgs.back());
    q.queue_body(msgs.back());
    all += "<x";
  }
  CHECK(q.gather().size() == OutputQueue::kMaxIov);
  q.written();
  CHECK(write_all(q) == all.substr(OutputQueue::kMaxIov));
  CHECK(q.unsent_bytes() == 0);

  // The one chunk queued is in flight: bytes queued now start another, so
  // the write sends exactly what it was handed, and they are not lost.
  q.queue_own("first");
  auto& iov = q.gather();
  REQUIRE(iov.size() == 1);
  q.queue_own("second");
  CHECK(std::string(static_cast<const char*>(iov[0].data()), iov[0].size()) == "first");
  q.written();
  CHECK(q.unsent_bytes() == 6);
  CHECK(write_all(q) == "second");
}

TEST_CASE("output queue: clear drops all but the write in flight", "[output]") {
  OutputQueue q;
  ResponseText a = owned("first");
  q.hold(a);
  q.queue_message(a, Framing::ndjson);
  auto& iov = q.gather();
  REQUIRE(iov.size() == 1);
  ResponseText b = with_shared("x", text_of(10, 'z'), "y");
  q.hold(b);
  q.queue_message(b, Framing::ndjson);
  ResponseText held = owned("held");
  q.hold(held);
  q.clear();
  CHECK(q.unsent_bytes() == 0);
  CHECK_FALSE(q.over(0));
  // The buffer the write points at is still there, unchanged.
  CHECK(std::string(static_cast<const char*>(iov[0].data()), iov[0].size()) == "first\n");
  CHECK_FALSE(q.empty());
}

TEST_CASE("batch order: a bare-JSON batch streams as one array; others' answers wait until it closes",
          "[output]") {
  OutputQueue q;
  BatchOrder order(q);
  const uint64_t b = order.begin(Framing::ndjson);
  CHECK(add(q, order, b, owned("a")));
  CHECK_FALSE(send(q, order, owned("single"), Framing::ndjson));  // waits for the array
  const uint64_t b2 = order.begin(Framing::ndjson);
  CHECK_FALSE(add(q, order, b2, owned("c")));  // another batch: held while b streams
  CHECK(add(q, order, b, owned("b")));
  CHECK_FALSE(order.idle());
  CHECK(write_all(q) == "[a,b");
  REQUIRE(order.end(b));
  // Closed: what waited follows in order, and b2 streams now.
  CHECK(write_all(q) == "]\nsingle\n[c");
  CHECK(add(q, order, b2, owned("d")));
  REQUIRE(order.end(b2));
  CHECK(write_all(q) == ",d]\n");
  CHECK(order.idle());
  CHECK(q.unsent_bytes() == 0);
  CHECK_FALSE(order.end(b2));  // closed already
}

TEST_CASE("batch order: an LSP batch goes out whole once complete; a batch of notifications sends nothing",
          "[output]") {
  OutputQueue q;
  BatchOrder order(q);
  const uint64_t quiet = order.begin(Framing::ndjson);
  const uint64_t lsp = order.begin(Framing::lsp);
  CHECK_FALSE(add(q, order, lsp, owned("x")));
  CHECK_FALSE(add(q, order, lsp, owned("yz")));
  CHECK(q.empty());
  REQUIRE(order.end(quiet));
  CHECK(q.empty());  // the LSP batch is not complete yet
  REQUIRE(order.end(lsp));
  CHECK(write_all(q) == "Content-Length: 6\r\n\r\n[x,yz]");
  CHECK(order.idle());
  CHECK(q.unsent_bytes() == 0);
}
