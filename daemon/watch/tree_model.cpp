#include "daemon/watch/tree_model.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <deque>

#include "common/log.hpp"
#include "daemon/watch/tree_scan.hpp"

namespace hs::daemon::watch {

// ---- what a directory is for ----

std::set<std::string> TreeModel::keys_of(const std::string& dir) const {
  std::set<std::string> out;
  for (const auto& [key, roots] : regs_) {
    for (const auto& [root, reg] : roots) {
      if (!reg.real.empty() && within(dir, reg.real)) {
        out.insert(key);
        break;
      }
    }
  }
  return out;
}

bool TreeModel::needed(const std::string& dir, const Dir& d) const { return !d.anchors.empty() || !keys_of(dir).empty(); }

template <class F>
void TreeModel::for_tree(const std::string& top, F fn) {
  if (top == "/") {
    for (auto it = dirs_.begin(); it != dirs_.end();) fn(it++);
    return;
  }
  if (auto it = dirs_.find(top); it != dirs_.end()) fn(it);
  const std::string prefix = top + "/";
  for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    fn(it++);
  }
}

void TreeModel::report(const std::set<std::string>& keys, const std::string& path, TreeReport& out) const {
  for (const auto& k : keys) {
    if (!out.unknown.count(k)) out.paths[k].insert(path);
  }
}

// ---- watches ----

void TreeModel::set_polled(Dir& d, bool on) {
  if (d.polled == on) return;
  d.polled = on;
  if (on) {
    ++polled_;
  } else {
    --polled_;
    d.snap.clear();
  }
}

void TreeModel::arm(const std::string& path, Dir& d) {
  if (d.handle >= 0) return;
  int err = ENOSYS;
  if (backend_ == nullptr) {
    err = ENOSYS;
  } else if (max_watches_ != 0 && handles_.size() >= max_watches_) {
    err = ENOSPC;
  } else if (backend_->events_unreliable(path)) {
    err = EREMOTE;
  } else if (auto h = backend_->add_dir(path, false)) {
    d.handle = *h;
    handles_[*h].push_back(path);
    set_polled(d, false);
    return;
  } else {
    err = h.error().sys_errno != 0 ? h.error().sys_errno : EIO;
  }
  if (err == ENOSPC && !logged_exhausted_) {
    logged_exhausted_ = true;
    log::warn("trigger watch: out of watches; " + path + " and any others past the limit are polled by stat (logged once)");
  }
  if (!d.polled) {
    set_polled(d, true);
    d.snap = snapshot(path, d);
  }
}

void TreeModel::release(const std::string& path, Dir& d) {
  if (d.handle >= 0) {
    auto h = handles_.find(d.handle);
    if (h != handles_.end()) {
      std::erase(h->second, path);
      if (h->second.empty()) {
        if (backend_ != nullptr) backend_->remove(d.handle);
        handles_.erase(h);
      }
    }
    d.handle = -1;
  }
  set_polled(d, false);
}

TreeModel::DirMap::iterator TreeModel::ensure_dir(const std::string& path) {
  auto [it, fresh] = dirs_.try_emplace(path);
  if (fresh) {
    if (auto st = lstat_of(path)) {
      it->second.dev = st->dev;
      it->second.ino = st->ino;
    }
    arm(path, it->second);
  }
  return it;
}

void TreeModel::maybe_erase(DirMap::iterator it) {
  if (needed(it->first, it->second)) return;
  release(it->first, it->second);
  dirs_.erase(it);
}

// ---- trees and roots ----

void TreeModel::add_tree(const std::string& top, TreeReport* out) {
  const std::set<std::string> keys = out != nullptr ? keys_of(top) : std::set<std::string>{};
  std::deque<std::string> todo{top};
  while (!todo.empty()) {
    const std::string dir = std::move(todo.front());
    todo.pop_front();
    auto it = ensure_dir(dir);  // watched first, then listed: nothing made in between is missed
    for (const auto& e : list_entries(dir)) {
      const std::string p = join_path(dir, e.name);
      if (out != nullptr) report(keys, p, *out);
      if (e.dir) todo.push_back(p);
    }
    if (it->second.polled) it->second.snap = snapshot(dir, it->second);
  }
}

void TreeModel::prune(const std::string& top) {
  for_tree(top, [this](DirMap::iterator it) { maybe_erase(it); });
}

std::vector<TreeModel::Anchor> TreeModel::drop_tree(const std::string& top) {
  std::vector<Anchor> moved;
  for_tree(top, [&](DirMap::iterator it) {
    for (const auto& [entry, anchored] : it->second.anchors) moved.insert(moved.end(), anchored.begin(), anchored.end());
    release(it->first, it->second);
    dirs_.erase(it);
  });
  return moved;
}

void TreeModel::replace_subtree(const std::string& path, TreeReport& out) {
  // Watched anew (another directory may have been moved in under the old
  // name, and a watch follows its inode, not its name); what it holds is
  // reported, which also covers any event missed in between.
  auto moved = drop_tree(path);
  const auto keys = keys_of(path);
  report(keys, path, out);
  auto st = lstat_of(path);
  if (!keys.empty() && st && (st->mode & S_IFMT) == S_IFDIR) add_tree(path, &out);
  relocate(moved, out);
}

void TreeModel::relocate(const std::vector<Anchor>& anchors, TreeReport& out) {
  for (const auto& [key, root] : anchors) refresh_root(key, root, out);
}

TreeModel::Reg TreeModel::locate(const std::string& root) const {
  Reg r;
  if (root != "/") {
    std::string dir = parent_path(root);
    std::string entry = base_name(root);
    while (dir != "/" && !is_dir_following(dir)) {
      entry = base_name(dir);
      dir = parent_path(dir);
    }
    // Watched by its real path: a watch is never set through a symlink's
    // last component (IN_DONT_FOLLOW).
    r.anchor_dir = real_path(dir).value_or(dir);
    r.anchor_entry = entry;
  }
  if (is_dir_following(root)) r.real = real_path(root).value_or("");
  return r;
}

void TreeModel::add_anchor(const Reg& reg, const Anchor& a) {
  if (reg.anchor_dir.empty()) return;
  auto it = ensure_dir(reg.anchor_dir);
  const bool fresh = it->second.anchors[reg.anchor_entry].insert(a).second;
  if (fresh && it->second.polled) it->second.snap = snapshot(it->first, it->second);
}

void TreeModel::remove_anchor(const Reg& reg, const Anchor& a) {
  auto it = dirs_.find(reg.anchor_dir);
  if (it == dirs_.end()) return;
  auto en = it->second.anchors.find(reg.anchor_entry);
  if (en != it->second.anchors.end()) {
    en->second.erase(a);
    if (en->second.empty()) it->second.anchors.erase(en);
  }
  maybe_erase(it);
}

void TreeModel::refresh_root(const std::string& key, const std::string& root, TreeReport& out) {
  auto kit = regs_.find(key);
  if (kit == regs_.end()) return;
  auto rit = kit->second.find(root);
  if (rit == kit->second.end()) return;
  const Reg old = rit->second;
  const Reg neu = locate(root);
  rit->second = neu;  // first: keys_of must see where the tree is now
  const Anchor a{key, root};
  add_anchor(neu, a);  // again if it was dropped with its directory
  if (neu.anchor_dir != old.anchor_dir || neu.anchor_entry != old.anchor_entry) remove_anchor(old, a);
  if (neu.real != old.real) {
    if (!neu.real.empty()) add_tree(neu.real, &out);
    if (!old.real.empty()) prune(old.real);
  } else if (!neu.real.empty()) {
    auto it = dirs_.find(neu.real);
    auto st = lstat_of(neu.real);
    if (it == dirs_.end()) {
      add_tree(neu.real, &out);
    } else if (!st || st->dev != it->second.dev || st->ino != it->second.ino) {
      replace_subtree(neu.real, out);
    }
  }
  report({key}, root, out);
}

void TreeModel::set_roots(const std::string& key, const std::vector<std::string>& roots) {
  std::set<std::string> want(roots.begin(), roots.end());
  auto& have = regs_[key];
  // The new ones first: a directory both need keeps its watch.
  for (const auto& r : want) {
    if (have.count(r)) continue;
    const Reg reg = locate(r);
    have[r] = reg;
    add_anchor(reg, {key, r});
    if (!reg.real.empty()) add_tree(reg.real, nullptr);
  }
  std::vector<std::pair<std::string, Reg>> gone;
  for (const auto& [r, reg] : have) {
    if (!want.count(r)) gone.emplace_back(r, reg);
  }
  for (const auto& [r, reg] : gone) {
    regs_[key].erase(r);
    remove_anchor(reg, {key, r});
    if (!reg.real.empty()) prune(reg.real);
  }
  if (regs_[key].empty()) regs_.erase(key);
}

void TreeModel::drop(const std::string& key) {
  auto it = regs_.find(key);
  if (it == regs_.end()) return;
  const auto roots = std::move(it->second);
  regs_.erase(it);
  for (const auto& [r, reg] : roots) {
    remove_anchor(reg, {key, r});
    if (!reg.real.empty()) prune(reg.real);
  }
}

std::vector<std::string> TreeModel::roots(const std::string& key) const {
  std::vector<std::string> out;
  auto it = regs_.find(key);
  if (it == regs_.end()) return out;
  for (const auto& [r, reg] : it->second) out.push_back(r);
  return out;
}

void TreeModel::release_all() {
  for (auto& [path, d] : dirs_) release(path, d);
  dirs_.clear();
}

}  // namespace hs::daemon::watch
