#include "daemon/rpc/errors.hpp"

namespace hs::daemon::rpc {

proto::RpcError shutting_down() {
  return proto::RpcError{proto::code::shutting_down, "Server shutting down", nullptr};
}

}  // namespace hs::daemon::rpc
