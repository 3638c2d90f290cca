#include "daemon/rpc/errors.hpp"

namespace hs::daemon::rpc {

proto::RpcError shutting_down() {
  return proto::RpcError{proto::code::shutting_down, "Server shutting down", nullptr};
}

void answer_cancelled(const CancelToken& cancel, const Reply& reply) {
  if (!cancel.cancelled()) reply(shutting_down());
}

}  // namespace hs::daemon::rpc
