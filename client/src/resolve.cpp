#include "client/src/resolve.hpp"

#include <cstdlib>
#include <cstring>
#include <optional>

#include "client/src/errors.hpp"
#include "common/fs.hpp"
#include "common/real_path.hpp"
#include "common/result.hpp"
#include "common/socket_path.hpp"
#include "common/state_dir.hpp"

namespace harnesssync {
namespace {

std::optional<std::string> opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

namespace detail {

Result<std::string> resolve_state_dir(const ClientOptions& o) {
  auto dir = hs::resolve_state_dir(opt(o.state_dir));
  if (!dir) return usage_error(dir.error().message());
  return *dir;
}

bool names_state_dir(const ClientOptions& o) {
  if (!o.state_dir.empty()) return true;
  const char* env = std::getenv("HARNESSSYNC_HOME");
  return env != nullptr && *env != '\0';
}

bool spawn_disabled_by_env() {
  const char* v = std::getenv("HARNESSSYNC_NO_SPAWN");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

}  // namespace detail

Result<std::string> resolve_socket_path(const ClientOptions& opts) {
  HS_TRY_ASSIGN(const std::string dir, detail::resolve_state_dir(opts));
  auto path = hs::resolve_socket_path(opt(opts.socket_path), dir);
  if (!path) {
    const hs::Error& e = path.error();
    if (e.code == hs::Errc::invalid_argument) return detail::usage_error("socket " + e.detail);
    // The private runtime dir is unusable (another user's, or open to
    // others): no daemon of ours can be reached there.
    return detail::make_error(Error::Kind::unreachable, "cannot find the socket: " + e.message());
  }
  return *path;
}

Result<Done> check_daemon_serves(const boost::json::object& info, const std::string& socket_path,
                                 const std::string& state_dir) {
  // As harnesssync.Client.check_serves does it (docs/PROTOCOL.md, "Socket").
  const boost::json::value* served = info.if_contains("state_file");
  if (served == nullptr || !served->is_string()) return detail::protocol_error("daemon.info has no state_file");
  const std::string file(served->get_string());
  const auto slash = file.rfind('/');
  const std::string served_dir = slash == std::string::npos ? "" : file.substr(0, slash == 0 ? 1 : slash);
  if (hs::realpath_lenient(served_dir) == hs::realpath_lenient(state_dir)) return Done{};
  return detail::make_error(Error::Kind::wrong_daemon, "harnesssyncd at " + socket_path + " serves " + file +
                                                           ", not " + hs::fs::join(hs::pathlib_str(state_dir), "state.json"));
}

}  // namespace harnesssync
