#include "daemon/methods/errors.hpp"

namespace hs::daemon {

proto::RpcError shutting_down() {
  return proto::RpcError{proto::code::shutting_down, "Server shutting down", nullptr};
}

}  // namespace hs::daemon
