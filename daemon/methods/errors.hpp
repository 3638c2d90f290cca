// The methods layer's error vocabulary: every JSON-RPC error a handler
// answers is made here (bad params come from the spec, proto/params.hpp).
#pragma once

#include "common/error.hpp"
#include "proto/jsonrpc.hpp"

namespace hs::daemon {

/// The one mapping of store errors to JSON-RPC: an invalid argument is
/// -32602 naming its field; anything else -32603.
proto::RpcError store_error(const Error& e);
/// -32000: the daemon stopped before this request was done.
proto::RpcError shutting_down();

}  // namespace hs::daemon
