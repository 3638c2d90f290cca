#include "daemon/net/output_queue.hpp"

#include <algorithm>

namespace hs::daemon::net {
namespace asio = boost::asio;

void OutputQueue::hold(const ResponseText& msg) {
  const size_t owned = msg.head.size() + msg.tail.size();
  owned_unsent_ += owned;
  if (owned >= kTrackedAnswer) big_owned_.insert(owned);
  if (msg.shared) hold_shared(msg.shared);
}

void OutputQueue::hold_shared(const proto::JsonText& text) {
  if (++shared_refs_[text.get()] == 1) shared_unsent_ += text->size();
}

void OutputQueue::release_shared(const proto::JsonText& text) {
  auto it = shared_refs_.find(text.get());
  if (--it->second != 0) return;
  shared_unsent_ -= text->size();
  shared_refs_.erase(it);
}

void OutputQueue::queue_own(std::string_view bytes) {
  owned_unsent_ += bytes.size();
  queued_end_ += bytes.size();
  // Append to the last owned chunk unless a write has it in flight.
  if (chunks_.size() > inflight_ && !chunks_.back().shared) {
    chunks_.back().own += bytes;
  } else {
    chunks_.push_back(Chunk{std::string(bytes), nullptr});
  }
}

void OutputQueue::queue_shared(const proto::JsonText& text) {
  queued_end_ += text->size();
  chunks_.push_back(Chunk{{}, text});
}

// The response's bytes were counted when it was held.
void OutputQueue::queue_body(ResponseText& msg) {
  owned_unsent_ -= msg.head.size() + msg.tail.size();
  queue_own(msg.head);
  if (msg.shared) queue_shared(msg.shared);
  if (!msg.tail.empty()) queue_own(msg.tail);
  const size_t owned = msg.head.size() + msg.tail.size();
  if (owned >= kTrackedAnswer) big_queued_.push_back(Tracked{queued_end_, owned});
}

void OutputQueue::queue_message(ResponseText& msg, proto::Framing framing) {
  if (framing == proto::Framing::lsp) queue_own(proto::lsp_header(msg.size()));
  queue_body(msg);
  if (framing == proto::Framing::ndjson) queue_own("\n");
}

bool OutputQueue::over(size_t cap) const {
  size_t largest = big_owned_.empty() ? 0 : *big_owned_.rbegin();
  for (const auto& kv : shared_refs_) largest = std::max(largest, kv.first->size());
  // An answer partly written may count for more than is left of it.
  const size_t unsent = unsent_bytes();
  return unsent > largest && unsent - largest > cap;
}

const std::vector<asio::const_buffer>& OutputQueue::gather() {
  iov_.clear();
  inflight_ = std::min(chunks_.size(), kMaxIov);
  for (size_t i = 0; i < inflight_; ++i) {
    const Chunk& c = chunks_[i];
    iov_.push_back(c.shared ? asio::buffer(*c.shared) : asio::buffer(c.own));
  }
  return iov_;
}

void OutputQueue::written() {
  for (size_t i = 0; i < inflight_; ++i) {
    Chunk& c = chunks_.front();
    if (c.shared) {
      written_end_ += c.shared->size();
      release_shared(c.shared);
    } else {
      written_end_ += c.own.size();
      owned_unsent_ -= c.own.size();
    }
    chunks_.pop_front();
  }
  inflight_ = 0;
  while (!big_queued_.empty() && big_queued_.front().end <= written_end_) {
    big_owned_.erase(big_owned_.find(big_queued_.front().size));
    big_queued_.pop_front();
  }
}

void OutputQueue::clear() {
  chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(inflight_), chunks_.end());
  shared_refs_.clear();
  owned_unsent_ = shared_unsent_ = 0;
  big_owned_.clear();
  big_queued_.clear();
}

}  // namespace hs::daemon::net
