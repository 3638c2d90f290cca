// From a received message to method calls (PROTOCOL.md, "JSON-RPC 2.0
// rules"): batch handling, request validation, lookup in the method table.
// Responses are written straight as wire JSON text and go back to the
// session in the framing of the request; a shared result (JsonText) is
// never copied.
#pragma once

#include <boost/json/value.hpp>
#include <memory>

#include "daemon/rpc/context.hpp"
#include "proto/framing.hpp"

namespace hs::daemon::net {
class Session;
}

namespace hs::daemon::rpc {

/// `ticket` is held until the message's last answer is queued (see
/// net::Session::track).
void dispatch(Context& ctx, const std::shared_ptr<net::Session>& session, proto::Framing framing,
              boost::json::value msg, std::shared_ptr<void> ticket);

}  // namespace hs::daemon::rpc
