#include "daemon/triggers/saver.hpp"

#include "common/durable_file.hpp"

namespace hs::daemon::triggers {

Saver::Saver(watch::Worker& worker, std::string path, Snapshot snapshot)
    : worker_(worker), path_(std::move(path)), snapshot_(std::move(snapshot)) {}

void Saver::save(Done done) {
  dirty_ = true;
  if (done) waiting_.push_back(std::move(done));
  if (!in_flight_) start();
}

void Saver::start() {
  dirty_ = false;
  in_flight_ = true;
  in_flight_done_ = std::move(waiting_);
  waiting_.clear();
  auto st = std::make_shared<Status>();
  worker_.post([this, st, text = snapshot_()] { *st = replace_file_durably(path_, text, 0600); },
               [this, st] {
                 in_flight_ = false;
                 auto done = std::move(in_flight_done_);
                 in_flight_done_.clear();
                 if (dirty_) start();
                 for (auto& d : done) d(*st);
               });
}

}  // namespace hs::daemon::triggers
