// hsctl socket-path: the socket hsctl would use.
#include <cstdio>

#include "client/hsctl/commands.hpp"

namespace hsctl {

Action setup_socket_path(CLI::App&, Context& ctx) {
  return [&ctx]() -> int {
    auto path = harnesssync::resolve_socket_path(ctx.client_options());
    if (!path) return ctx.fail(path.error());
    std::printf("%s\n", path->c_str());
    return exit_code::ok;
  };
}

}  // namespace hsctl
