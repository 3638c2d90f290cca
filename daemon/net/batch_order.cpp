#include "daemon/net/batch_order.hpp"

namespace hs::daemon::net {

bool BatchOrder::send(ResponseText msg, proto::Framing framing) {
  if (streaming_ != 0) {
    waiting_.emplace_back(std::move(msg), framing);  // after the open array
    return false;
  }
  out_.queue_message(msg, framing);
  return true;
}

uint64_t BatchOrder::begin(proto::Framing framing) {
  const uint64_t id = ++next_batch_;
  batches_.emplace(id, Batch{framing, {}, false, false});
  return id;
}

bool BatchOrder::add(uint64_t id, ResponseText msg) {
  Batch& b = batches_.at(id);
  if (b.framing == proto::Framing::ndjson && (streaming_ == 0 || streaming_ == id)) {
    out_.queue_own(b.open ? "," : "[");
    b.open = true;
    streaming_ = id;
    out_.queue_body(msg);
    return true;
  }
  b.held.push_back(std::move(msg));
  return false;
}

bool BatchOrder::end(uint64_t id) {
  auto it = batches_.find(id);
  if (it == batches_.end()) return false;
  it->second.ended = true;
  if (streaming_ == id) {
    out_.queue_own("]\n");
    batches_.erase(it);
    streaming_ = 0;
    drain_waiting();
  } else if (streaming_ == 0) {
    drain_waiting();
  }
  return true;
}

void BatchOrder::drain_waiting() {
  // Nothing streams now: queue what waited, in order, until a batch that
  // is still running opens its array.
  while (streaming_ == 0) {
    while (!waiting_.empty()) {
      auto [msg, framing] = std::move(waiting_.front());
      waiting_.pop_front();
      out_.queue_message(msg, framing);
    }
    auto it = batches_.begin();
    for (; it != batches_.end(); ++it) {
      Batch& b = it->second;
      if (b.ended || (b.framing == proto::Framing::ndjson && !b.held.empty())) break;
    }
    if (it == batches_.end()) return;
    Batch& b = it->second;
    if (b.held.empty()) {  // ended with nothing to say (only notifications)
      batches_.erase(it);
      continue;
    }
    if (b.framing == proto::Framing::lsp) {
      // The header needs the whole length: sent when complete, in one piece.
      size_t len = 1 + b.held.size();  // "[" + commas + "]"
      for (const auto& r : b.held) len += r.size();
      out_.queue_own(proto::lsp_header(len));
    }
    out_.queue_own("[");
    for (size_t i = 0; i < b.held.size(); ++i) {
      if (i != 0) out_.queue_own(",");
      out_.queue_body(b.held[i]);
    }
    b.held.clear();
    if (b.ended) {
      out_.queue_own(b.framing == proto::Framing::ndjson ? "]\n" : "]");
      batches_.erase(it);
      continue;
    }
    b.open = true;
    streaming_ = it->first;
  }
}

void BatchOrder::clear() {
  batches_.clear();
  waiting_.clear();
}

}  // namespace hs::daemon::net
