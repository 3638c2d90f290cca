// The one explicit table of methods: it dispatches calls, checks their
// params, and generates rpc.discover, so the three can never disagree.
//
// A method's row owns its params: each ParamDoc names a param, whether it is
// required, and its proto::ParamType, which gives both the JSON Schema that
// rpc.discover publishes and the check that call_method applies before the
// handler runs (missing, unknown, wrong type or range: -32602 with
// {field, reason}). Handlers read checked params through proto::Args.
//
// Each family's handlers live in their own file (daemon_methods.cpp,
// state_methods.cpp, hash_methods.cpp, account_methods.cpp,
// plugins_methods.cpp, settings_methods.cpp, health_methods.cpp,
// subscribe_methods.cpp, lock_methods.cpp, trigger_methods.cpp).
//
// Adding a method family: one new file (say lock_methods.cpp) with its
// handlers, their declarations below, and one row per method in kMethods
// (method_table.cpp). Adding a param: one ParamDoc, then read it.
#pragma once

#include <boost/json/object.hpp>
#include <span>
#include <string_view>

#include "daemon/rpc/context.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {

using Handler = void (*)(Context&, Call&&);

struct ParamDoc {
  std::string_view name;
  bool required;
  proto::ParamType type;  // its schema and its check (proto/params.hpp)
  std::string_view description;
};

struct MethodSpec {
  std::string_view name;
  std::string_view summary;
  std::span<const ParamDoc> params;
  std::string_view result_schema;  // JSON Schema, as JSON text
  Handler handler;
};

/// Every method, in the order rpc.discover lists them.
std::span<const MethodSpec> method_table();
/// The method called `name`, or null.
const MethodSpec* find_method(std::string_view name);
/// The OpenRPC 1.2 document for the table.
boost::json::object openrpc_document();

/// The spec's verdict on `params`: required params present, each present
/// one valid for its type (in the row's order), then no unknown ones.
std::optional<proto::RpcError> validate_params(const MethodSpec& spec, const boost::json::object& params);
/// Checks the call's params against `spec` (answering -32602 on a problem)
/// and runs the handler.
void call_method(const MethodSpec& spec, Context& ctx, Call&& call);

// Handlers, by family.
void daemon_info(Context&, Call&&);
void daemon_ping(Context&, Call&&);
void daemon_shutdown(Context&, Call&&);
void rpc_discover(Context&, Call&&);
void state_record(Context&, Call&&);
void state_drift(Context&, Call&&);
void state_target(Context&, Call&&);
void state_all(Context&, Call&&);
void state_clear(Context&, Call&&);
void state_accept(Context&, Call&&);
void state_migrate_cc2all(Context&, Call&&);
void hash_files(Context&, Call&&);
void state_account(Context&, Call&&);
void state_accounts(Context&, Call&&);
void plugins_record(Context&, Call&&);
void plugins_status(Context&, Call&&);
void plugins_drift(Context&, Call&&);
void settings_dry_run(Context&, Call&&);
void health_record(Context&, Call&&);
void health_history(Context&, Call&&);
void state_subscribe(Context&, Call&&);
void state_unsubscribe(Context&, Call&&);
void lock_acquire(Context&, Call&&);
void lock_release(Context&, Call&&);
void lock_list(Context&, Call&&);
void trigger_set(Context&, Call&&);
void trigger_remove(Context&, Call&&);
void trigger_list(Context&, Call&&);
void trigger_run(Context&, Call&&);
void trigger_log(Context&, Call&&);
void trigger_pause(Context&, Call&&);
void trigger_resume(Context&, Call&&);

}  // namespace hs::daemon::rpc
