#include "client/hsctl/context.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/state_dir.hpp"
#include "common/version.hpp"

namespace hsctl {

std::optional<std::string> Context::account() const {
  if (g_.account.empty()) return std::nullopt;
  return g_.account;
}

harnesssync::ClientOptions Context::client_options() const {
  harnesssync::ClientOptions o;
  o.socket_path = g_.socket;
  o.state_dir = g_.state_dir;
  o.autostart = !g_.no_spawn;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(g_.timeout_s * 1000));
  o.spawn_timeout = std::max(o.timeout, std::chrono::milliseconds(10000));
  return o;
}

std::optional<std::string> Context::named_state_dir() const {
  if (!g_.state_dir.empty()) return g_.state_dir;
  const char* env = std::getenv("HARNESSSYNC_HOME");
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

std::optional<std::string> Context::state_dir_to_check() const {
  if (auto named = named_state_dir()) return named;
  const char* env = std::getenv("HARNESSSYNC_SOCKET");
  if (!g_.socket.empty() || (env != nullptr && *env != '\0')) return std::nullopt;
  // A socket derived from the default state dir belongs to that dir: a
  // daemon found there that serves another one (started with --socket by
  // hand, or by a client that derived names by another rule) is not ours
  // to write to, nor to stop.
  auto dir = hs::resolve_state_dir(std::nullopt);
  if (!dir) return std::nullopt;  // no home: the socket could not be derived either
  return *dir;
}

harnesssync::Client* Context::client(bool allow_spawn) {
  if (client_) return &*client_;
  auto opts = client_options();
  opts.autostart = opts.autostart && allow_spawn;
  // Resolved once here: the check below names it.
  auto path = harnesssync::resolve_socket_path(opts);
  if (!path) {
    last_code_ = fail(path.error());
    return nullptr;
  }
  opts.socket_path = *path;
  // The check is made on the daemon.info that the version check reads
  // anyway, sent with the command's first call: one round trip for both.
  // The library sends a call that changes something only once it passed.
  opts.check_state_dir = false;
  opts.pipeline_check = true;
  opts.on_info = [this, socket = *path](const boost::json::object& info) { return check_info(info, socket); };
  auto c = harnesssync::Client::connect(opts);
  if (!c) {
    last_code_ = fail(c.error());
    return nullptr;
  }
  client_.emplace(std::move(*c));
  return &*client_;
}

harnesssync::Result<harnesssync::Done> Context::check_info(const boost::json::object& info, const std::string& socket) {
  info_ = info;
  if (auto named = state_dir_to_check()) {
    // The daemon reached must serve the state dir we mean (another daemon's
    // socket in --socket or $HARNESSSYNC_SOCKET, say, must not be written
    // to, or stopped, in its stead).
    if (string_member(info, "state_file") == std::nullopt) {
      harnesssync::Error e;
      e.kind = harnesssync::Error::Kind::protocol;
      e.message = incompatible_text("daemon.info", "\"state_file\"");
      incompatible_ = e.message;
      return e;
    }
    auto serves = harnesssync::check_daemon_serves(info, socket, *named);
    if (!serves) return serves.error();
  }
  // An upgrade can leave an old daemon running: say so, once, on stderr.
  const auto* v = info.if_contains("version");
  if (v != nullptr && v->is_string() && v->get_string() != hs::kVersion) {
    std::cerr << "hsctl: warning: harnesssyncd is version " << v->get_string().c_str() << ", hsctl is "
              << hs::kVersion << "; restart it with 'hsctl shutdown'\n";
  }
  return harnesssync::Done{};
}

harnesssync::Result<boost::json::object> Context::daemon_info() {
  if (info_) return *info_;
  return client_->info();
}

int Context::code_for(const harnesssync::Error& e) {
  using K = harnesssync::Error::Kind;
  switch (e.kind) {
    case K::rpc: return exit_code::daemon_error;
    case K::usage: return exit_code::usage;
    case K::wrong_daemon: return exit_code::wrong_daemon;
    default: return exit_code::unreachable;
  }
}

int Context::fail(const harnesssync::Error& e) {
  std::string msg = e.message;
  if (e.kind == harnesssync::Error::Kind::rpc) msg += " (error " + std::to_string(e.code) + ")";
  // One line, always: a reason from a log or the daemon may carry newlines.
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "hsctl: " << msg << "\n";
  // The check's refusal of a daemon that lacks state_file, as every call
  // on that connection reports it.
  if (incompatible_ && e.kind == harnesssync::Error::Kind::protocol && e.message == *incompatible_) {
    return exit_code::incompatible;
  }
  return code_for(e);
}

int Context::usage(const std::string& message) {
  std::cerr << "hsctl: " << message << "\n";
  return exit_code::usage;
}

std::string Context::incompatible_text(std::string_view method, std::string_view what) {
  return "harnesssyncd's answer to " + std::string(method) + " lacks " + std::string(what) +
         " (a daemon of another version? 'hsctl shutdown' stops it)";
}

int Context::incompatible(std::string_view method, std::string_view what) {
  std::cerr << "hsctl: " << incompatible_text(method, what) << "\n";
  return exit_code::incompatible;
}

std::optional<std::string> string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<int64_t> int_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

const boost::json::object* object_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

void Context::print_json(const boost::json::value& v) { std::cout << boost::json::serialize(v) << "\n"; }

std::optional<boost::json::object> parse_json_object(Context& ctx, const std::string& what, const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    ctx.usage(what + ": not a JSON object");
    return std::nullopt;
  }
  return std::move(v.get_object());
}

std::optional<boost::json::object> read_json_object(Context& ctx, const std::string& what, const std::string& file) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(file);
    if (!in) {
      ctx.usage(what + " " + file + ": cannot read it");
      return std::nullopt;
    }
    text << in.rdbuf();
  }
  return parse_json_object(ctx, what + " " + file, text.str());
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace hsctl
