// TreeWatch's state, owned by its worker thread (tree_watch.hpp): which
// directories are watched or polled, for which keys, and what an event in
// one of them means for whom.
//
// A key's root R is watched in two parts:
// - its anchor: the entry R in its parent directory (or, while the parent
//   is missing, the first missing component in the deepest existing
//   ancestor), so that R being written (a file), created, deleted,
//   replaced or retargeted (a symlink) is an event there;
// - its tree, when R is a directory (following R if it is a symlink):
//   every directory below its real path, none through a symlink.
// Which keys a directory serves is not stored but derived from the roots
// (a handful per trigger), so trees of several keys, and nested roots,
// share watches without any bookkeeping to get wrong.
// A directory that appears in a tree is watched, then listed (so nothing
// made in between is missed), and what it holds is reported as changed.
// What cannot be watched (out of watches, a file system without events)
// is listed by poll() instead, and compared with what it held before.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/file_stat.hpp"
#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

/// What one step found, per key: the changed paths, or "unknown".
struct TreeReport {
  std::map<std::string, std::set<std::string>> paths;
  std::set<std::string> unknown;
  bool empty() const { return paths.empty() && unknown.empty(); }
};

/// A backend event with its name copied (it crosses threads).
struct OwnedEvent {
  int handle = -1;
  unsigned what = 0;
  std::string name;
  bool dir = false;
};

class TreeModel {
 public:
  /// `backend` may be null (nothing can be watched: everything is polled).
  /// `max_watches`: 0 for as many as the OS gives.
  TreeModel(Backend* backend, size_t max_watches) : backend_(backend), max_watches_(max_watches) {}
  TreeModel(const TreeModel&) = delete;
  TreeModel& operator=(const TreeModel&) = delete;

  /// Watches `roots` (absolute) for `key`, replacing its earlier roots; the
  /// roots it had already keep their watches without a break.
  void set_roots(const std::string& key, const std::vector<std::string>& roots);
  void drop(const std::string& key);
  /// Takes a batch of backend events (not cookies) into `out`.
  void on_events(const std::vector<OwnedEvent>& events, TreeReport& out);
  /// Lists what is polled, and retries watching it.
  void poll(TreeReport& out);
  bool any_polled() const { return polled_ > 0; }
  /// The roots of `key` (for its signature).
  std::vector<std::string> roots(const std::string& key) const;
  /// Releases every watch (the backend is stopping).
  void release_all();

  size_t watched() const { return handles_.size(); }
  size_t polled() const { return polled_; }
  size_t dirs() const { return dirs_.size(); }

 private:
  using Anchor = std::pair<std::string, std::string>;  // (key, root)
  struct Snap {
    bool dir = false;
    std::optional<FileStat> st;
    bool operator==(const Snap&) const = default;
  };
  struct Dir {
    int handle = -1;
    bool polled = false;
    uint64_t dev = 0, ino = 0;  // what the watch is on
    std::map<std::string, std::set<Anchor>> anchors;  // entry -> roots anchored there
    std::map<std::string, Snap> snap;                  // polled: what its entries were
  };
  struct Reg {
    std::string anchor_dir, anchor_entry;  // empty dir: no anchor (the root is "/")
    std::string real;                      // the tree's real path; empty: no tree
  };
  using DirMap = std::map<std::string, Dir>;

  /// The keys whose trees hold directory `dir`.
  std::set<std::string> keys_of(const std::string& dir) const;
  bool needed(const std::string& dir, const Dir& d) const;
  /// Visits `top` and every directory below it; `fn` may erase the one it
  /// is given.
  template <class F>
  void for_tree(const std::string& top, F fn);

  Reg locate(const std::string& root) const;
  void refresh_root(const std::string& key, const std::string& root, TreeReport& out);
  void add_anchor(const Reg& reg, const Anchor& a);
  void remove_anchor(const Reg& reg, const Anchor& a);
  /// Watches, then lists, every directory of the tree at `top` not yet
  /// watched; with `out`, reports everything it holds to its keys.
  void add_tree(const std::string& top, TreeReport* out);
  /// Releases what no key needs any more in the tree at `top`.
  void prune(const std::string& top);
  /// Forgets the tree at `top` (gone or replaced); returns the roots that
  /// were anchored inside it (to be located again).
  std::vector<Anchor> drop_tree(const std::string& top);
  void replace_subtree(const std::string& path, TreeReport& out);
  void relocate(const std::vector<Anchor>& anchors, TreeReport& out);
  DirMap::iterator ensure_dir(const std::string& path);
  void arm(const std::string& path, Dir& d);
  void release(const std::string& path, Dir& d);
  void maybe_erase(DirMap::iterator it);
  std::map<std::string, Snap> snapshot(const std::string& path, const Dir& d) const;
  void report(const std::set<std::string>& keys, const std::string& path, TreeReport& out) const;
  void on_entry(const std::string& dir, const OwnedEvent& e, TreeReport& out);
  void poll_dir(const std::string& path, TreeReport& out);
  void rebuild(TreeReport& out);
  void set_polled(Dir& d, bool on);

  Backend* backend_;
  size_t max_watches_;
  bool logged_exhausted_ = false;
  DirMap dirs_;
  std::unordered_map<int, std::vector<std::string>> handles_;  // one inode may be several paths
  std::map<std::string, std::map<std::string, Reg>> regs_;     // key -> root -> where it is
  size_t polled_ = 0;
};

}  // namespace hs::daemon::watch
