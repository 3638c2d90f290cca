#include "daemon/methods/errors.hpp"

namespace hs::daemon {

proto::RpcError store_error(const Error& e) {
  if (e.code == Errc::invalid_argument) return proto::RpcError::invalid_params(e.field, e.detail);
  return proto::RpcError{proto::code::internal_error, "Internal error: " + e.message(), nullptr};
}

proto::RpcError shutting_down() {
  return proto::RpcError{proto::code::shutting_down, "Server shutting down", nullptr};
}

}  // namespace hs::daemon
