// harnesssync::Client's life: connect (with autostart and the state dir
// check), and the public calls, which Client::Impl carries out.
#include "harnesssync/client.hpp"

#include <cerrno>

#include "client/src/client_impl.hpp"
#include "client/src/connection.hpp"
#include "client/src/resolve.hpp"
#include "client/src/spawn.hpp"
#include "common/result.hpp"

namespace harnesssync {
namespace json = boost::json;
using detail::Connection;

namespace {

// A connection to the daemon at `path`, started when nobody answers there.
Result<Connection> open_or_spawn(const ClientOptions& opts, const std::string& path, const std::string& dir,
                                 bool* started) {
  int err = 0;
  auto conn = Connection::open(path, detail::deadline_after(opts.timeout), &err);
  if (conn || (err != ENOENT && err != ECONNREFUSED)) return conn;
  if (!opts.autostart || detail::spawn_disabled_by_env()) {
    Error e = conn.error();
    e.message += " (not starting it: " +
                 std::string(opts.autostart ? "HARNESSSYNC_NO_SPAWN is set" : "autostart is off") + ")";
    return e;
  }
  detail::SpawnPlan plan{path, dir, opts.daemon_path, detail::deadline_after(opts.spawn_timeout)};
  return detail::connect_spawning(plan, started);
}

}  // namespace

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

const std::string& Client::socket_path() const { return impl_->socket_path; }
bool Client::started_daemon() const { return impl_->started; }

Result<Client> Client::connect(const ClientOptions& opts) {
  HS_TRY_ASSIGN(const std::string dir, detail::resolve_state_dir(opts));
  HS_TRY_ASSIGN(std::string path, resolve_socket_path(opts));
  bool started = false;
  HS_TRY_ASSIGN(Connection conn, open_or_spawn(opts, path, dir, &started));
  auto impl = std::make_unique<Impl>(std::move(conn), std::move(path), started, opts.timeout);
  if (opts.check_state_dir.value_or(detail::names_state_dir(opts))) impl->check_dir = dir;
  impl->on_info = opts.on_info;
  if (impl->check_dir || impl->on_info) {
    impl->queue_check();
    if (!opts.pipeline_check) HS_TRY(impl->settle_check());
  }
  return Client(std::move(impl));
}

void Client::on_notification(std::function<void(std::string_view, const json::object&)> handler) {
  impl_->on_notification = std::move(handler);
}

Result<json::value> Client::call(std::string_view method, json::object params) {
  return impl_->call(method, std::move(params), detail::deadline_after(impl_->timeout));
}

Result<int> Client::poll_notifications(std::chrono::milliseconds wait) { return impl_->poll(wait); }

}  // namespace harnesssync
