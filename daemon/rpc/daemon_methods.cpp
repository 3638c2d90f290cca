// daemon.*, rpc.discover: the daemon itself. None takes params; the table
// refuses any (call_method).
#include <unistd.h>

#include "common/version.hpp"
#include "daemon/live/subscriptions.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/triggers/service.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;

void daemon_info(Context& ctx, Call&& c) {
  json::array methods;
  for (const auto& m : method_table()) methods.emplace_back(m.name);
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - ctx.started);
  c.reply(json::object{
      {"name", "harnesssyncd"},
      {"version", kVersion},
      {"protocol", proto::kProtocolVersion},
      {"pid", ::getpid()},
      {"state_file", ctx.state_file},
      {"socket", ctx.socket_path},
      {"started_at", ctx.started_at},
      {"uptime_ms", uptime.count()},
      {"schema", ctx.seq.layout()},
      // How a save by another process is kept from being written over
      // (STATE.md, "Other writers").
      {"other_writers", ctx.seq.other_writers()},
      {"methods", std::move(methods)},
      {"watch", ctx.files.info()},
      // Live drift: subscriptions, connections holding them, watched targets.
      {"subscriptions", ctx.subs != nullptr ? ctx.subs->info() : json::object{}},
      // Group commit at work: durable writes so far, and the changes they held.
      {"writes", json::object{{"count", ctx.seq.writes()}, {"changes", ctx.seq.changes_written()}}},
      {"locks", json::object{{"held", ctx.locks.held()}, {"waiting", ctx.locks.waiting()}}},
      // Triggers: how many, running, paused, and their watch.
      {"triggers", ctx.triggers != nullptr ? ctx.triggers->info() : json::object{}},
  });
}

void daemon_ping(Context&, Call&& c) { c.reply(json::value("pong")); }

void daemon_shutdown(Context& ctx, Call&& c) {
  c.reply(json::value(true));
  ctx.request_shutdown();
}

void rpc_discover(Context&, Call&& c) { c.reply(openrpc_document()); }

}  // namespace hs::daemon::rpc
