// The order in which a connection's answers go out (PROTOCOL.md,
// "JSON-RPC 2.0 rules"). A batch's answers go out as one JSON array; on a
// bare-JSON connection they stream as they complete ("[", a, ",", b, "]"),
// while an LSP-framed batch is sent whole once complete (its header needs
// the length). At most one array streams at a time: answers that complete
// meanwhile (single ones, and other batches') wait, in order, until it is
// closed. It only orders: bytes are counted and queued by the OutputQueue.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "daemon/net/output_queue.hpp"
#include "daemon/net/response_text.hpp"
#include "proto/framing.hpp"

namespace hs::daemon::net {

class BatchOrder {
 public:
  explicit BatchOrder(OutputQueue& out) : out_(out) {}
  BatchOrder(const BatchOrder&) = delete;
  BatchOrder& operator=(const BatchOrder&) = delete;

  /// One message (not part of a batch), held by the queue already: queued
  /// now (true), or kept until the streaming array is closed (false).
  bool send(ResponseText msg, proto::Framing framing);
  /// A new batch in `framing`; its id.
  uint64_t begin(proto::Framing framing);
  /// Whether batch `id` has begun and not been closed.
  bool contains(uint64_t id) const { return batches_.count(id) != 0; }
  /// One answer of batch `id`, held by the queue already: queued now
  /// (true: the batch streams), or kept (false). REQUIRES: contains(id).
  bool add(uint64_t id, ResponseText msg);
  /// Batch `id` has its last answer (a batch of only notifications sends
  /// nothing): its array is closed, and what waited behind it is queued.
  /// False when there is no such batch.
  bool end(uint64_t id);
  /// Nothing waits and no batch is open.
  bool idle() const { return batches_.empty() && waiting_.empty(); }
  /// Forgets every batch and waiting answer (the connection closed).
  void clear();

 private:
  struct Batch {
    proto::Framing framing;
    std::vector<ResponseText> held;  // answers not yet queued
    bool open = false;               // its "[" is queued: it streams
    bool ended = false;
  };
  void drain_waiting();

  OutputQueue& out_;
  std::map<uint64_t, Batch> batches_;
  uint64_t next_batch_ = 0;
  uint64_t streaming_ = 0;  // 0: none
  std::deque<std::pair<ResponseText, proto::Framing>> waiting_;
};

}  // namespace hs::daemon::net
