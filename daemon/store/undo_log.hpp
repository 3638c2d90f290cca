// How to take back the changes applied since the last durable write, without
// a copy of the document: each change records the members it replaces (their
// old values moved out) or adds, and rollback() undoes them in reverse.
// The cost is that of the changes, not of the document: a record on a
// 180 MB state no longer copies 180 MB first.
//
// Members are found again by their key path from the root, never by pointer:
// inserting into an object may move its other members in memory.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs::daemon::store {

/// Keys from the document root to an object: {"accounts", "work", "targets"}.
using KeyPath = std::vector<std::string>;

class UndoLog {
 public:
  /// Sets `key` of the object at `at` to `v` (adding it at the end when
  /// absent); returns the new member.
  boost::json::value& assign(boost::json::object& root, const KeyPath& at, std::string_view key,
                             boost::json::value v);
  /// The object `key` of the object at `at`, made an empty object first when
  /// it is missing or not an object.
  boost::json::object& child_object(boost::json::object& root, const KeyPath& at, std::string_view key);
  /// Removes `key` from the object at `at`; the others keep their order.
  void erase(boost::json::object& root, const KeyPath& at, std::string_view key);
  /// Call before reordering the root's members: keeps their present order.
  void keep_root_order(const boost::json::object& root);

  bool empty() const { return steps_.empty(); }
  /// Undoes every change since the last clear(), newest first: `root` is then
  /// the same document, member order included, as before the first.
  void rollback(boost::json::object& root);
  /// Forgets the steps: the changes are durable.
  void clear() { steps_.clear(); }

 private:
  struct Step {
    KeyPath at;                               // the object that held the member ...
    std::string key;                          // ... and its key; empty with `order`
    std::optional<boost::json::value> old;    // its old value; none when it was added
    size_t index = 0;                         // its old position, when it was erased
    std::vector<std::string> order;           // the root's order (keep_root_order) ...
    bool is_order = false;                    // ... when this is that kind of step
  };
  std::vector<Step> steps_;
};

}  // namespace hs::daemon::store
