// What a method answers: a result or a JSON-RPC error; and the one mapping
// of store and sequencer errors to the codes of PROTOCOL.md. The layers
// below (store, sequencer::Sequencer) return Result values and know no JSON-RPC.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "common/result.hpp"
#include "proto/jsonrpc.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::rpc {

using proto::JsonText;
using Outcome = std::variant<boost::json::value, proto::RpcError, JsonText>;
using Reply = std::function<void(Outcome)>;

/// An error from the store or the sequencer::Sequencer: a failed durable write
/// (Errc::write_failed) is code 1 with {"errno", "path", "reason"}; invalid
/// arguments are -32602 with their field; anything else is -32603.
proto::RpcError to_rpc_error(const Error& e);

/// A change's result as an answer: its value, or to_rpc_error().
Outcome to_outcome(Result<boost::json::value> r);
/// The sequencer::Sequencer's callback (sequencer::Sequencer::Done) that answers `reply`.
std::function<void(Result<boost::json::value>)> answer(Reply reply);

}  // namespace hs::daemon::rpc
