// TreeModel (tree_model.hpp): what the backend's events and the polls of
// what cannot be watched mean for the keys.
#include <sys/stat.h>

#include "daemon/watch/tree_model.hpp"
#include "daemon/watch/tree_scan.hpp"

namespace hs::daemon::watch {

std::map<std::string, TreeModel::Snap> TreeModel::snapshot(const std::string& path, const Dir& d) const {
  std::map<std::string, Snap> s;
  auto snap_of = [&](const std::string& name) {
    Snap sn;
    sn.st = lstat_of(join_path(path, name));
    sn.dir = sn.st && (sn.st->mode & S_IFMT) == S_IFDIR;
    s[name] = sn;
  };
  if (!keys_of(path).empty()) {
    for (const auto& e : list_entries(path)) snap_of(e.name);
  } else {
    for (const auto& [entry, anchored] : d.anchors) snap_of(entry);
  }
  return s;
}

// ---- events ----

void TreeModel::on_entry(const std::string& dir, const OwnedEvent& e, TreeReport& out) {
  const std::string path = join_path(dir, e.name);
  const auto keys = keys_of(dir);
  if (!keys.empty()) {
    if (e.dir || dirs_.count(path)) {
      replace_subtree(path, out);
    } else {
      report(keys, path, out);
    }
  }
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return;
  auto an = it->second.anchors.find(e.name);
  if (an == it->second.anchors.end()) return;
  const std::set<Anchor> anchored = an->second;  // refreshing changes the set
  for (const auto& [key, root] : anchored) refresh_root(key, root, out);
}

void TreeModel::on_events(const std::vector<OwnedEvent>& events, TreeReport& out) {
  for (const auto& e : events) {
    if ((e.what & Backend::kOverflow) != 0) {
      rebuild(out);
      continue;
    }
    auto h = handles_.find(e.handle);
    if (h == handles_.end()) continue;  // released meanwhile
    const std::vector<std::string> dirs = h->second;
    for (const auto& dir : dirs) {
      if (!dirs_.count(dir)) continue;
      if ((e.what & Backend::kSettled) != 0) {
        // Reported when the poll first saw it; only complete now.
      } else if ((e.what & Backend::kEntry) != 0) {
        on_entry(dir, e, out);
      } else if ((e.what & Backend::kSelf) != 0) {
        // Its parent's event (or its root's anchor) says the rest.
        report(keys_of(dir), dir, out);
      }
    }
    if ((e.what & Backend::kGone) != 0) {
      // The OS dropped the watch (deleted, unmounted): poll what is left
      // until it can be watched again.
      for (const auto& dir : dirs) {
        auto it = dirs_.find(dir);
        if (it == dirs_.end() || it->second.handle != e.handle) continue;
        it->second.handle = -1;
        set_polled(it->second, true);
        it->second.snap = snapshot(dir, it->second);
      }
      handles_.erase(e.handle);
    }
  }
}

void TreeModel::poll(TreeReport& out) {
  std::vector<std::string> polled;
  for (const auto& [path, d] : dirs_) {
    if (d.polled) polled.push_back(path);
  }
  for (const auto& p : polled) poll_dir(p, out);
}

void TreeModel::poll_dir(const std::string& path, TreeReport& out) {
  auto it = dirs_.find(path);
  if (it == dirs_.end() || !it->second.polled) return;
  auto st = lstat_of(path);
  if (!st || (st->mode & S_IFMT) != S_IFDIR || st->ino != it->second.ino || st->dev != it->second.dev) {
    replace_subtree(path, out);  // gone or replaced
    return;
  }
  const auto before = it->second.snap;
  const auto now = snapshot(path, it->second);
  it->second.snap = now;
  arm(path, it->second);  // watched from now on, if it can be
  std::vector<OwnedEvent> changed;
  auto diff = [&](const std::string& name, bool dir) {
    OwnedEvent e;
    e.what = Backend::kEntry;
    e.name = name;
    e.dir = dir;
    changed.push_back(std::move(e));
  };
  for (const auto& [name, sn] : now) {
    auto b = before.find(name);
    if (b == before.end() || !(b->second == sn)) diff(name, sn.dir || (b != before.end() && b->second.dir));
  }
  for (const auto& [name, sn] : before) {
    if (!now.count(name)) diff(name, sn.dir);
  }
  for (const auto& e : changed) {
    if (dirs_.count(path)) on_entry(path, e, out);
  }
}

void TreeModel::rebuild(TreeReport& out) {
  // The kernel lost events: anything may have changed, and the map of
  // directories may be stale too. Everything is watched again.
  for (const auto& [key, roots] : regs_) {
    out.unknown.insert(key);
    out.paths.erase(key);
  }
  release_all();
  for (auto& [key, roots] : regs_) {
    for (auto& [root, reg] : roots) reg = locate(root);
  }
  for (const auto& [key, roots] : regs_) {
    for (const auto& [root, reg] : roots) {
      add_anchor(reg, {key, root});
      if (!reg.real.empty()) add_tree(reg.real, nullptr);
    }
  }
}

}  // namespace hs::daemon::watch
