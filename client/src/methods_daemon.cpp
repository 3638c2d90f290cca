// Typed wrappers: daemon.info, daemon.ping, daemon.shutdown, rpc.discover.
#include "client/src/json_read.hpp"
#include "harnesssync/client.hpp"

namespace harnesssync {
namespace json = boost::json;
using detail::done_result;
using detail::object_result;

Result<json::object> Client::info() { return object_result(call("daemon.info"), "daemon.info"); }

Result<Done> Client::ping() { return done_result(call("daemon.ping")); }

Result<Done> Client::shutdown() { return done_result(call("daemon.shutdown")); }

Result<json::object> Client::discover() { return object_result(call("rpc.discover"), "rpc.discover"); }

}  // namespace harnesssync
