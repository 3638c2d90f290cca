// A connection's output not yet written: owned bytes, and shared texts
// (proto::JsonText: state.all of one document version, say) queued by
// reference, never copied. One gathered (scatter/gather) write at a time
// takes chunks from the front. It counts what is unsent, each shared text
// once however many answers carry it, and tells when a client that does
// not read has gone past the output cap. No socket: the session writes.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/net/response_text.hpp"
#include "proto/framing.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::net {

class OutputQueue {
 public:
  /// Chunks handed to one gathered write at most (IOV_MAX is 1024).
  static constexpr size_t kMaxIov = 256;

  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  /// Counts `msg` as unsent from now on: it entered the connection, and
  /// may wait (in a batch, or behind one) before it is queued.
  void hold(const ResponseText& msg);
  /// Queues a held message whole, framed: an LSP header before it, or a
  /// newline after it on a bare-JSON connection.
  void queue_message(ResponseText& msg, proto::Framing framing);
  /// Queues a held message's JSON only (an element of a batch's array).
  void queue_body(ResponseText& msg);
  /// Queues (and counts) owned bytes: framing, "[", ",", "]".
  void queue_own(std::string_view bytes);

  /// Whether the unsent output is past `cap`, a connection's
  /// max_output_bytes. The largest answer held is not counted, be it a
  /// shared text (state.all's document) or an owned one (lock.list over a
  /// big table): one answer of any size always goes out to a client that
  /// reads, and the cap is on what it leaves unread beyond that. Every
  /// other distinct text is counted (a batch alternating state.record and
  /// state.all holds a new version of the document per pair). So a
  /// connection's unsent output stays within cap + its largest answer.
  bool over(size_t cap) const;
  /// Owned answers from this size on are tracked for over(); smaller ones
  /// cannot change its verdict by much, and cost nothing to track.
  static constexpr size_t kTrackedAnswer = 64 * 1024;

  /// Nothing queued (held messages are not queued yet).
  bool empty() const { return chunks_.empty(); }
  /// The next write's buffers: up to kMaxIov chunks from the front, which
  /// stay queued, their memory unchanged, until written() or clear().
  /// REQUIRES: !empty() and no write in flight.
  const std::vector<boost::asio::const_buffer>& gather();
  /// The gathered write completed: its chunks are done.
  void written();
  /// Drops everything queued or held (the connection closed), except the
  /// chunks of a write in flight, which its buffers still point at.
  /// written() must not follow: that write's outcome no longer matters.
  void clear();

  /// Output queued or held and not yet written, each shared text once.
  size_t unsent_bytes() const { return owned_unsent_ + shared_unsent_; }

 private:
  struct Chunk {
    std::string own;
    proto::JsonText shared;
  };
  void queue_shared(const proto::JsonText& text);
  void hold_shared(const proto::JsonText& text);
  void release_shared(const proto::JsonText& text);

  /// A tracked owned answer queued: where its bytes end in the stream.
  struct Tracked {
    uint64_t end;
    size_t size;
  };
  void track(const ResponseText& msg);

  std::deque<Chunk> chunks_;
  size_t inflight_ = 0;  // chunks at the front handed to the write in flight
  std::vector<boost::asio::const_buffer> iov_;
  size_t owned_unsent_ = 0;   // owned bytes queued or held, not yet written
  size_t shared_unsent_ = 0;  // bytes of distinct shared texts queued or held
  std::unordered_map<const std::string*, size_t> shared_refs_;
  // Owned answers of kTrackedAnswer bytes or more, held or queued and not
  // yet written, by size (the largest is not counted toward the cap); and,
  // for the queued ones, where they end in the byte stream, so that a write
  // that passes that point lets them go.
  std::multiset<size_t> big_owned_;
  std::deque<Tracked> big_queued_;
  uint64_t queued_end_ = 0;   // bytes ever queued
  uint64_t written_end_ = 0;  // bytes ever written
};

}  // namespace hs::daemon::net
