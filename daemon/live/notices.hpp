// The texts of the notifications the daemon sends on its own
// (docs/PROTOCOL.md, "Notifications"): state.changed and state.drifted,
// as complete JSON-RPC messages without an id.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/sequencer.hpp"
#include "daemon/session.hpp"
#include "daemon/store/drift.hpp"

namespace hs::daemon {

/// `"changed":[..],"removed":[..],"errors":[..]`: the part of state.drifted
/// that is the same for every subscriber of the target, made once per
/// drift and shared by every message that carries it.
JsonText drift_body(const store::DriftReport& report);

/// {"jsonrpc":"2.0","method":"state.drifted","params":{"subscription","target","account"?, <body>}}
ResponseText drifted_message(uint64_t subscription, const std::string& target,
                             const std::optional<std::string>& account, const JsonText& body);

/// {"jsonrpc":"2.0","method":"state.changed","params":{"subscription","target" or null,"account"?,"kind","last_sync"}}
ResponseText changed_message(uint64_t subscription, const ChangeNote& note, const boost::json::value& last_sync);

/// {"jsonrpc":"2.0","method":<method>,"params":{"subscription", <params>}}
/// for trigger.started and trigger.finished.
ResponseText trigger_message(uint64_t subscription, const char* method, const boost::json::object& params);

}  // namespace hs::daemon
