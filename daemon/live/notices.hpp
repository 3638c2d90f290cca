// The texts of the notifications the daemon sends on its own
// (docs/PROTOCOL.md, "Notifications"): state.changed and state.drifted,
// as complete JSON-RPC messages without an id.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/net/response_text.hpp"
#include "daemon/sequencer/change_note.hpp"
#include "daemon/store/drift.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::live {

/// `"changed":[..],"removed":[..],"errors":[..]`: the part of state.drifted
/// that is the same for every subscriber of the target, made once per
/// drift and shared by every message that carries it.
proto::JsonText drift_body(const store::DriftReport& report);

/// {"jsonrpc":"2.0","method":"state.drifted","params":{"subscription","target","account"?, <body>}}
net::ResponseText drifted_message(uint64_t subscription, const std::string& target,
                             const std::optional<std::string>& account, const proto::JsonText& body);

/// {"jsonrpc":"2.0","method":"state.changed","params":{"subscription","target" or null,"account"?,"kind","last_sync"}}
net::ResponseText changed_message(uint64_t subscription, const sequencer::ChangeNote& note,
                                  const boost::json::value& last_sync);

/// {"jsonrpc":"2.0","method":<method>,"params":{"subscription", <params>}}
/// for trigger.started and trigger.finished.
net::ResponseText trigger_message(uint64_t subscription, const char* method, const boost::json::object& params);

}  // namespace hs::daemon::live
