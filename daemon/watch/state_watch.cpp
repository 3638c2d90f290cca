#include "daemon/watch/state_watch.hpp"

#include "common/log.hpp"

namespace hs::daemon::watch {

StateWatch::StateWatch(boost::asio::io_context& io, std::string dir, std::string name,
                       std::function<void()> on_change)
    : io_(io), dir_(std::move(dir)), name_(std::move(name)), on_change_(std::move(on_change)) {}

StateWatch::~StateWatch() { stop(); }

void StateWatch::start() {
  auto b = make_backend(io_, [this](const std::vector<Backend::Event>& events) { on_events(events); });
  if (!b) {
    log::warn("cannot watch " + dir_ + " (" + b.error().message() +
              "): changes by other processes are noticed only before the daemon's next write");
    return;
  }
  // A state dir that is a symlink is watched where it points, as it is
  // read and written.
  if (auto h = (*b)->add_dir(dir_, /*follow_link=*/true); !h) {
    log::warn("cannot watch " + dir_ + " (" + h.error().message() +
              "): changes by other processes are noticed only before the daemon's next write");
    (*b)->stop();
    return;
  }
  backend_ = std::move(*b);
}

void StateWatch::stop() {
  if (backend_) backend_->stop();
}

void StateWatch::on_events(const std::vector<Backend::Event>& events) {
  bool hit = false;
  for (const Backend::Event& e : events) {
    if ((e.what & Backend::kOverflow) != 0) hit = true;
    // Complete content only: a write in progress (IN_MODIFY) is not read.
    if ((e.what & Backend::kEntry) != 0 && (e.what & (Backend::kClosedWrite | Backend::kMovedIn)) != 0 &&
        e.name == name_) {
      hit = true;
    }
  }
  // One check covers every event read at once.
  if (hit) on_change_();
}

}  // namespace hs::daemon::watch
