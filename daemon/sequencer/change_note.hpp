// What a change was, for the state.changed notification (docs/PROTOCOL.md).
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <optional>
#include <string>

namespace hs::daemon::sequencer {

/// A change's kind ("recorded", "cleared", ...) and the target it touched,
/// if any. An empty kind says nothing. `only_if` (optional) looks at the
/// change's value and tells whether it changed anything (a clear of a
/// target that had no entry did not).
struct ChangeNote {
  std::string kind;
  std::optional<std::string> target;
  std::optional<std::string> account;
  std::function<bool(const boost::json::value&)> only_if;
};

}  // namespace hs::daemon::sequencer
