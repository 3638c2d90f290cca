// The methods layer's error vocabulary: the JSON-RPC errors a handler
// answers itself. Store errors map through to_rpc_error (daemon/outcome.hpp);
// bad params come from the spec (proto/params.hpp).
#pragma once

#include "common/error.hpp"
#include "proto/jsonrpc.hpp"

namespace hs::daemon::rpc {

/// -32000: the daemon stopped before this request was done.
proto::RpcError shutting_down();

}  // namespace hs::daemon::rpc
