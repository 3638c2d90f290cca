#include "daemon/store/undo_log.hpp"

#include <utility>

namespace hs::daemon::store {
namespace json = boost::json;
namespace {

json::object& resolve(json::object& root, const KeyPath& at) {
  json::object* o = &root;
  // Every object on the path existed when the step was recorded, and the
  // steps after it (which could have removed it) were undone first.
  for (const auto& k : at) o = &o->at(k).as_object();
  return *o;
}

// Puts `key` back at `index`. Only rollback gets here: rebuilding one
// object (moves, no deep copies) is fine on that path.
void insert_at(json::object& o, std::string_view key, json::value v, size_t index) {
  if (index >= o.size()) {
    o.emplace(key, std::move(v));
    return;
  }
  json::object rebuilt(o.storage());
  rebuilt.reserve(o.size() + 1);
  size_t i = 0;
  for (auto& kv : o) {
    if (i++ == index) rebuilt.emplace(key, std::move(v));
    rebuilt.emplace(kv.key(), std::move(kv.value()));
  }
  o = std::move(rebuilt);
}

}  // namespace

json::value& UndoLog::assign(json::object& root, const KeyPath& at, std::string_view key, json::value v) {
  json::object& parent = resolve(root, at);
  if (json::value* m = parent.if_contains(key)) {
    steps_.push_back(Step{at, std::string(key), std::exchange(*m, std::move(v)), 0, {}, false});
    return *m;
  }
  steps_.push_back(Step{at, std::string(key), std::nullopt, 0, {}, false});
  return parent.emplace(key, std::move(v)).first->value();
}

json::object& UndoLog::child_object(json::object& root, const KeyPath& at, std::string_view key) {
  json::object& parent = resolve(root, at);
  if (json::value* m = parent.if_contains(key); m != nullptr && m->is_object()) return m->get_object();
  return assign(root, at, key, json::object()).get_object();
}

void UndoLog::erase(json::object& root, const KeyPath& at, std::string_view key) {
  json::object& parent = resolve(root, at);
  auto it = parent.find(key);
  if (it == parent.end()) return;
  auto index = static_cast<size_t>(it - parent.begin());
  steps_.push_back(Step{at, std::string(key), std::move(it->value()), index, {}, false});
  parent.stable_erase(it);
}

void UndoLog::keep_root_order(const json::object& root) {
  Step s;
  s.is_order = true;
  s.order.reserve(root.size());
  for (const auto& kv : root) s.order.emplace_back(kv.key());
  steps_.push_back(std::move(s));
}

void UndoLog::rollback(json::object& root) {
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    Step& s = *it;
    if (s.is_order) {
      // Members added since were removed by the steps undone before this one.
      json::object ordered(root.storage());
      ordered.reserve(root.size());
      for (const auto& k : s.order) {
        if (json::value* m = root.if_contains(k)) ordered.emplace(k, std::move(*m));
      }
      root = std::move(ordered);
      continue;
    }
    json::object& parent = resolve(root, s.at);
    if (!s.old) {
      parent.stable_erase(s.key);
    } else if (json::value* m = parent.if_contains(s.key)) {
      *m = std::move(*s.old);
    } else {
      insert_at(parent, s.key, std::move(*s.old), s.index);
    }
  }
  steps_.clear();
}

}  // namespace hs::daemon::store
