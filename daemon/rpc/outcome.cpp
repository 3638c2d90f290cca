#include "daemon/rpc/outcome.hpp"

#include <boost/json/object.hpp>

namespace hs::daemon::rpc {

namespace {

proto::RpcError write_failed(const Error& e) {
  proto::RpcError r;
  r.code = proto::code::state_write_failed;
  r.message = "State write failed, nothing was applied: " + e.message();
  r.data = boost::json::object{{"errno", e.sys_errno}, {"path", e.path}, {"reason", e.reason()}};
  return r;
}

}  // namespace

proto::RpcError to_rpc_error(const Error& e) {
  if (e.code == Errc::write_failed) return write_failed(e);
  if (e.code == Errc::invalid_argument) return proto::RpcError::invalid_params(e.field, e.detail);
  proto::RpcError r;
  r.code = proto::code::internal_error;
  r.message = "Internal error: " + e.message();
  return r;
}

Outcome to_outcome(Result<boost::json::value> r) {
  if (!r) return to_rpc_error(r.error());
  return std::move(*r);
}

std::function<void(Result<boost::json::value>)> answer(Reply reply) {
  return [reply = std::move(reply)](Result<boost::json::value> r) { reply(to_outcome(std::move(r))); };
}

}  // namespace hs::daemon::rpc
