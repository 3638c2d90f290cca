// The bounds one connection lives within (PROTOCOL.md, "Limits"); set from
// harnesssyncd's command line (daemon/options.hpp).
#pragma once

#include <cstddef>

namespace hs::daemon::net {

struct Limits {
  size_t max_message_bytes = 16u << 20;    // larger messages get -32001, then the connection closes
  size_t max_connections = 512;            // past it, an idle connection holding nothing makes room, or the new one is refused
  unsigned message_timeout_ms = 30000;     // a started message must be complete within this
  size_t max_batch = 1024;                 // requests in one batch
  size_t max_output_bytes = 64u << 20;     // unsent output per connection before it is closed
};

}  // namespace hs::daemon::net
