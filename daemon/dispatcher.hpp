// From a received frame to method calls (PROTOCOL.md, "JSON-RPC 2.0 rules"):
// parse, batch handling, request validation, lookup in the method table.
// Responses go back to the session in the framing of the request.
#pragma once

#include <memory>

#include "daemon/context.hpp"
#include "proto/framing.hpp"

namespace hs::daemon {

class Session;

/// `ticket` is held until the message's last answer is sent (see
/// Session::track).
void dispatch(Context& ctx, const std::shared_ptr<Session>& session, proto::Frame frame,
              std::shared_ptr<void> ticket);

}  // namespace hs::daemon
