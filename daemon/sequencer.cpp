#include "daemon/sequencer.hpp"

#include <boost/asio/post.hpp>

namespace hs::daemon {
namespace asio = boost::asio;

struct Sequencer::Slot {
  bool ready = false;
  Apply apply;  // a change ...
  Reply done;
  Read read;    // ... or a read
};

Sequencer::Sequencer(asio::io_context& io, store::StateStore& store) : io_(io), store_(store) {}

Sequencer::~Sequencer() { writer_.join(); }

void Sequencer::mutate(Apply apply, Reply done) {
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->apply = std::move(apply);
  s->done = std::move(done);
  queue_.push_back(std::move(s));
  pump();
}

std::shared_ptr<Sequencer::Slot> Sequencer::reserve() {
  auto s = std::make_shared<Slot>();
  queue_.push_back(s);
  return s;
}

void Sequencer::fill(const std::shared_ptr<Slot>& slot, Apply apply, Reply done) {
  slot->apply = std::move(apply);
  slot->done = std::move(done);
  slot->ready = true;
  pump();
}

void Sequencer::read(Read run) {
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->read = std::move(run);
  queue_.push_back(std::move(s));
  pump();
}

void Sequencer::when_drained(std::function<void()> cb) {
  drained_.push_back(std::move(cb));
  pump();
}

void Sequencer::pump() {
  if (writing_) return;
  while (!queue_.empty() && queue_.front()->ready) {
    Slot& op = *queue_.front();
    if (op.read) {
      // A read must not see the batch being built: let it go to disk first.
      if (store_.pending()) break;
      Read run = std::move(op.read);
      queue_.pop_front();
      run(store_);
      continue;
    }
    Apply apply = std::move(op.apply);
    Reply done = std::move(op.done);
    queue_.pop_front();
    auto r = apply(store_);
    if (!r) {
      done(to_rpc_error(r.error()));  // rejected before changing anything
    } else if (store_.pending() || !batch_.empty()) {
      batch_.emplace_back(std::move(done), std::move(*r));
    } else {
      done(std::move(*r));  // a no-op (e.g. clearing what is not there): nothing to write
    }
  }
  // batch_ is non-empty only while the store has pending changes.
  if (store_.pending()) {
    start_write();
    return;
  }
  if (queue_.empty() && !drained_.empty()) {
    for (auto& cb : std::exchange(drained_, {})) cb();
  }
}

void Sequencer::start_write() {
  writing_ = true;
  // Encoding happens here, on the loop, while the state cannot change;
  // the writer thread only sees bytes.
  auto w = std::make_shared<store::PendingWrite>(store_.begin_commit());
  asio::post(writer_, [this, w] {
    Status s = store::StateStore::write(*w);
    asio::post(io_, [this, s = std::move(s)] { finish_write(s); });
  });
}

void Sequencer::finish_write(Status outcome) {
  store_.end_commit(outcome);
  writing_ = false;
  ++writes_;
  auto batch = std::exchange(batch_, {});
  changes_written_ += outcome ? batch.size() : 0;
  for (auto& [done, value] : batch) {
    if (outcome) {
      done(std::move(value));
    } else {
      done(write_failed(outcome.error()));
    }
  }
  pump();
}

}  // namespace hs::daemon
