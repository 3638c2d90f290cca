#include "daemon/watch/round_work.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace hs::daemon::watch {
namespace {

// Watches `dir` for `work`, counting the watch in work.uses.
Arming arm(Backend* backend, const std::string& dir, RoundWork& work) {
  Arming a;
  if (backend == nullptr) {
    a.err = ENOSYS;
    return a;
  }
  if (work.max_watches != 0 && work.uses.size() >= work.max_watches) {
    a.err = ENOSPC;
    return a;
  }
  if (backend->events_unreliable(dir)) {
    a.err = EREMOTE;
    return a;
  }
  // Before the watch: a directory replaced in between is then noticed at
  // the next resolve (its parent's event asks for one), not missed.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    a.dev = st.st_dev;
    a.ino = st.st_ino;
  }
  auto h = backend->add_dir(dir, /*follow_link=*/false);
  if (h) {
    a.handle = *h;
    ++work.uses[*h];
    return a;
  }
  a.err = h.error().sys_errno != 0 ? h.error().sys_errno : EIO;
  return a;
}

// The watch `a` no longer counts for `dir` (the loop releases it).
void unuse(RoundWork& work, const Arming& a) {
  auto it = work.uses.find(a.handle);
  if (it != work.uses.end() && --it->second == 0) work.uses.erase(it);
}

}  // namespace

Snapshot snapshot(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, FileStat{}};
  return {0, FileStat::of(st)};
}

RoundResult run_round(Backend* backend, RoundWork& work) {
  RoundResult out;
  // Released before anything is watched: a watch asked for below is then
  // never the one being released.
  if (backend != nullptr) {
    for (int h : work.release) backend->remove(h);
  }
  auto watch = [&](const std::string& dir, bool replaced) -> const Arming& {
    Arming a = arm(backend, dir, work);
    out.dirs[dir] = RoundResult::Dir{a, replaced};
    return work.dirs[dir] = a;  // a reference stays valid: the map's nodes do not move
  };
  Resolver resolver(work.cwd);  // shared ancestors are lstat'ed once
  out.deps.reserve(work.resolve.size());
  out.snaps.reserve(work.resolve.size());
  for (const auto& path : work.resolve) {
    std::vector<Dep> deps = resolver.deps(path);
    bool polled = deps.empty();
    for (const auto& [dir, entry] : deps) {
      auto it = work.dirs.find(dir);
      const Arming* a = nullptr;
      if (it == work.dirs.end()) {
        a = &watch(dir, false);
      } else if (it->second.handle >= 0 && !out.dirs.count(dir)) {
        // Watched: still the directory at its path? The watch follows a
        // directory moved away (or under an ancestor that was), and changes
        // at the path went unseen: watched anew, and the loop distrusts the
        // paths on it.
        auto id = resolver.dir_identity(dir);
        if (id && (id->first != it->second.dev || id->second != it->second.ino)) {
          unuse(work, it->second);
          a = &watch(dir, true);
        } else {
          a = &it->second;
        }
      } else if (it->second.handle < 0 && it->second.err == 0) {
        // The OS dropped its watch (deleted, perhaps re-created under the
        // same name): watch what is there now. Failures wait for the poll.
        a = &watch(dir, false);
      } else {
        a = &it->second;
      }
      if (a->handle < 0) polled = true;
    }
    out.snaps.push_back(polled ? std::optional<Snapshot>(snapshot(path)) : std::nullopt);
    out.deps.push_back(std::move(deps));
  }
  for (const auto& dir : work.retry) {
    auto it = work.dirs.find(dir);
    if (it != work.dirs.end() && it->second.handle >= 0) continue;  // watched above
    watch(dir, false);
  }
  out.stats.reserve(work.stat.size());
  for (const auto& p : work.stat) out.stats.push_back(snapshot(p));
  return out;
}

}  // namespace hs::daemon::watch
