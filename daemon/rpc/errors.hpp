// The rpc layer's error vocabulary: the JSON-RPC errors a handler answers
// itself. Store errors map through to_rpc_error (daemon/rpc/outcome.hpp);
// bad params come from the spec (proto/params.hpp).
#pragma once

#include "common/cancel.hpp"
#include "common/error.hpp"
#include "daemon/rpc/outcome.hpp"
#include "proto/jsonrpc.hpp"

namespace hs::daemon::rpc {

/// -32000: the daemon stopped before this request was done.
proto::RpcError shutting_down();

/// The answer to a cancelled hashing request: -32000 while its connection
/// is open (the daemon stops), nothing once it has closed.
void answer_cancelled(const CancelToken& cancel, const Reply& reply);

}  // namespace hs::daemon::rpc
