// The one logical sequence through which all state access goes, with group
// commit (docs/STATE.md, "Durability and order").
//
// Operations run in arrival order on the io_context's thread. A change is
// applied to memory and joins the batch of the next durable write; while a
// write is in flight (encoded and written on the writer thread, so the
// event loop keeps serving pings and reads that need no state), newer
// operations wait in the queue and are applied together the moment it ends,
// to share the following write. Each change is answered with the outcome of
// the write that holds it; on failure all of them get Errc::write_failed
// and memory returns to the last durable state. A read runs only when every
// change before it is durable, so no read ever shows a change that is not
// on disk.
//
// Lanes: an operation may name its connection (CancelToken::owner). A
// connection's operations keep their order among themselves, and a change
// whose arguments are still being computed (accept hashes its files first:
// reserve) holds back only its own connection's later ones, never another
// connection's: it takes its place in the sequence when it is ready.
//
// The document is never copied for another thread: while the writer thread
// encodes it, or serializes it for state.all (read_text), the loop applies
// no change (changes wait in the queue, as during a write), so the document
// stays immutable; other reads go on. The loop only swaps in the results.
//
// Other writers (reload.cpp): state.json is looked at and read again on the
// writer thread, never on the loop, and the document read is swapped in on
// the loop. A state.json that does not parse (another writer is halfway
// through its save) is left as it is: changes are refused with
// Errc::write_failed naming it, reads answer from the last good state, and
// it is read again once its writer closes it or it has not changed for 1 s.
// A change is refused only on a look begun after it arrived: the writer may
// have finished since the last look, unseen (stat polling sees no close),
// and a client that hung up after sending would lose it with nobody told.
//
// The Sequencer speaks in results (Result<json::value>), not in JSON-RPC:
// the rpc layer picks the codes (see answer() in daemon/rpc/outcome.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "daemon/sequencer/change_note.hpp"
#include "daemon/store/state_store.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::sequencer {

class Sequencer {
 public:
  using Apply = std::function<Result<boost::json::value>(store::StateStore&)>;
  /// Gets apply's value, apply's own error, or an Errc::write_failed error
  /// (errno, op and path of the failed step) when the write that held the
  /// change failed: then nothing of it was applied.
  using Done = std::function<void(Result<boost::json::value>)>;
  using Read = std::function<void(const store::StateStore&)>;
  /// The connection an operation comes from (CancelToken::owner()); null
  /// for none.
  using Lane = const void*;

  Sequencer(boost::asio::io_context& io, store::StateStore& store);
  ~Sequencer();

  /// Queues a change. `done` gets apply's value once it is durable, apply's
  /// own error at once (or after the pending write, when there is one), or
  /// Errc::write_failed if the write fails or state.json does not parse.
  void mutate(Apply apply, Done done, ChangeNote note = {}, Lane lane = nullptr);

  /// A change whose arguments are still being computed elsewhere (accept
  /// hashes files first). Until fill() is called for it, `lane`'s later
  /// operations wait behind it; nothing else does. It joins the sequence
  /// when filled.
  struct Slot;
  std::shared_ptr<Slot> reserve(Lane lane);
  void fill(const std::shared_ptr<Slot>& slot, Apply apply, Done done, ChangeNote note = {});

  /// Called on the loop once per noted change that a write made durable
  /// (after its answer, in the order the changes were applied), and with
  /// kind "reloaded" after another process's state.json was reloaded; with
  /// the store as durable now. Never for a failed write or a no-op.
  using OnDurable = std::function<void(const ChangeNote&, const store::StateStore&)>;
  void set_on_durable(OnDurable cb) { on_durable_ = std::move(cb); }

  /// Queues a read, run once every earlier change is durable (or failed).
  void read(Read run, Lane lane = nullptr);
  /// Queues a read of the whole document as compact JSON text, made once
  /// per durable version and shared by every answer that carries it: a
  /// batch of 1,024 state.all calls holds one copy, not 1,024. The text is
  /// made on the writer thread; changes wait until it is done.
  void read_text(std::function<void(proto::JsonText)> run, Lane lane = nullptr);

  /// Another process may have written state.json (the state dir's watch
  /// saw it closed or renamed in): queues a look, in order with changes and
  /// reads, that reloads the file if it is not the one the store last wrote
  /// or loaded. Reads queued after it show the other writer's content.
  /// Repeated calls while one is queued add nothing.
  void check_disk();

  /// Calls `cb` once the queue is empty, no connection's change is being
  /// prepared and no write is in flight.
  void when_drained(std::function<void()> cb);
  /// Stops the 1 s look at an unparsable state.json (shutdown).
  void stop();

  /// Successful durable writes so far, and changes they held (for
  /// daemon.info/bench). A failed write counts in neither.
  uint64_t writes() const { return writes_; }
  uint64_t changes_written() const { return changes_written_; }
  /// The state's layout in force (1 or 2), for daemon.info.
  int layout() const { return store_.layout(); }
  /// "exchange" or "check" (StateStore::other_writers), for daemon.info.
  const char* other_writers() const { return store_.other_writers(); }
  /// Why changes are refused now (state.json does not parse), or nullopt.
  std::optional<std::string> refusing() const;

 private:
  // sequencer.cpp
  void enqueue(std::shared_ptr<Slot> slot, Lane lane);
  void release_lane(Lane lane);
  void pump();
  void schedule_write();
  void start_write();
  void finish_write(Status outcome, const store::WriteInfo& info);
  void answer_batch(const Status& outcome);
  void finish_text(proto::JsonText text, uint64_t generation);
  void free_off_loop(std::shared_ptr<store::KeptFile> file, boost::json::object doc);
  // reload.cpp
  enum class LookFor { check, conflict };
  void start_look(LookFor why);
  void retry_after_conflict();
  void finish_look(LookFor why, store::DiskLook look);
  /// Takes in what was read; false (nothing taken in) on an error.
  bool take_in(store::DiskLook& look);
  void fail_batch(const Error& e);
  void refuse_changes(const store::DiskLook& look);
  void arm_wait_poll();
  void queue_check(bool front);

  boost::asio::io_context& io_;
  store::StateStore& store_;
  boost::asio::thread_pool writer_{1};  // encoding, fsync and reloads happen here, off the event loop
  std::deque<std::shared_ptr<Slot>> queue_;
  // Per connection, while one of its changes is being prepared: that slot
  // and everything the connection queued after it, in order.
  std::unordered_map<Lane, std::deque<std::shared_ptr<Slot>>> held_;
  struct Batched {
    Apply apply;  // kept: applied again if another writer's change must be reloaded first
    Done done;
    Result<boost::json::value> out;
    ChangeNote note;
  };
  OnDurable on_durable_;
  std::vector<Batched> batch_;  // answered once the pending write ends
  bool check_queued_ = false;   // a check_disk() slot is waiting in the queue
  int conflict_rounds_ = 0;     // reloads in a row for the same batch
  bool writing_ = false;        // a write, or a look at the disk, is in flight
  bool write_posted_ = false;   // a start_write is posted to run next
  // Adaptive commit delay (see schedule_write): wait for up to `gather_wait_`
  // until as many changes are queued as the last write carried.
  boost::asio::steady_timer gather_timer_;
  bool gathering_ = false;
  size_t gather_target_ = 1;
  std::chrono::microseconds gather_wait_{0};
  std::chrono::steady_clock::time_point write_started_;
  std::vector<std::function<void()>> drained_;
  uint64_t writes_ = 0;
  uint64_t changes_written_ = 0;
  proto::JsonText text_;          // the durable document as wire JSON ...
  uint64_t text_generation_ = 0;  // ... of this StateStore::generation()
  bool serializing_ = false;      // the writer thread is making text_: no changes now
  std::vector<std::function<void(proto::JsonText)>> text_waiters_;  // answered when it is done
  // state.json does not parse: the error changes get, the file as last
  // tried, and as last seen by the 1 s poll (reload.cpp).
  // `covers`: the last change (Slot::arrived) a look found it unparsable
  // for; a later one gets a look of its own before it is refused.
  struct Refusal {
    Error error;
    std::optional<FileStat> tried;
    std::optional<FileStat> seen;
    uint64_t covers = 0;
  };
  std::optional<Refusal> refusal_;
  uint64_t arrivals_ = 0;     // changes made ready so far (Slot::arrived)
  uint64_t look_covers_ = 0;  // arrivals_ when the look in flight began
  boost::asio::steady_timer wait_timer_;
  boost::asio::steady_timer retry_timer_;  // a short random pause before a conflict's next round
  uint32_t retry_seed_ = 0x9e3779b9;
  bool polling_ = false;
  bool stopped_ = false;
};

}  // namespace hs::daemon::sequencer
