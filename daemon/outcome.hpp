// What a method answers: a result or a JSON-RPC error; and the mapping of
// store errors to the codes of PROTOCOL.md.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "proto/jsonrpc.hpp"

namespace hs::daemon {

/// A result already serialized as compact, valid JSON text, shared between
/// the answers that carry it: state.all of one document version is
/// serialized once, however many requests ask for it.
using JsonText = std::shared_ptr<const std::string>;

using Outcome = std::variant<boost::json::value, proto::RpcError, JsonText>;
using Reply = std::function<void(Outcome)>;

/// A store error from applying or validating a change: invalid arguments
/// become -32602 with their field; anything else -32603.
proto::RpcError to_rpc_error(const Error& e);
/// A failed durable write: code 1 with {"errno", "path", "reason"}.
proto::RpcError write_failed(const Error& e);

}  // namespace hs::daemon
