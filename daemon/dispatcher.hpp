// From a received frame to method calls (PROTOCOL.md, "JSON-RPC 2.0 rules"):
// parse, batch handling, request validation, lookup in the method table.
// Responses go back to the session in the framing of the request.
#pragma once

#include <memory>

#include "daemon/context.hpp"
#include "proto/framing.hpp"

namespace hs::daemon {

void dispatch(Context& ctx, const std::shared_ptr<Session>& session, proto::Frame frame);

}  // namespace hs::daemon
