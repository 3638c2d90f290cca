// The one explicit table of methods: it dispatches calls and generates
// rpc.discover, so the two can never disagree. Each method family's
// handlers live in their own file (daemon_methods.cpp, state_methods.cpp,
// hash_methods.cpp, account_methods.cpp, plugins_methods.cpp,
// settings_methods.cpp, health_methods.cpp).
#pragma once

#include <boost/json/object.hpp>
#include <span>
#include <string_view>

#include "daemon/context.hpp"

namespace hs::daemon {

using Handler = void (*)(Context&, Call&&);

struct ParamDoc {
  std::string_view name;
  bool required;
  std::string_view schema;  // JSON Schema, as JSON text
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

}  // namespace hs::daemon
