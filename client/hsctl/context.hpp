// What every hsctl command shares: the global options, the connection
// (made on first use, with autostart and the version check), output and
// the exit codes.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "harnesssync/client.hpp"

namespace hsctl {

/// Exit codes (documented in --help and README.md).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int drift = 1;        // drift found (drift, status)
inline constexpr int usage = 2;        // bad command line or input file
inline constexpr int unreachable = 3;  // daemon unreachable or failed to start
inline constexpr int daemon_error = 4; // the daemon answered with an error
inline constexpr int lock_busy = 5;    // lock: busy, not acquired within the wait
inline constexpr int wrong_daemon = 6; // the daemon on the socket serves another state dir than the one named
inline constexpr int incompatible = 7; // the daemon's answer lacks what hsctl needs (another version)
}  // namespace exit_code

struct Globals {
  std::string socket;
  std::string state_dir;
  std::string account;
  bool json = false;
  double timeout_s = 10;
  bool no_spawn = false;
};

class Context {
 public:
  explicit Context(Globals& g) : g_(g) {}

  const Globals& globals() const { return g_; }
  std::optional<std::string> account() const;
  harnesssync::ClientOptions client_options() const;
  /// The state dir the user named (--state-dir, else $HARNESSSYNC_HOME), if any.
  std::optional<std::string> named_state_dir() const;
  /// The state dir the daemon reached must serve: the one named; else, when
  /// the socket comes from the rule (neither --socket nor
  /// $HARNESSSYNC_SOCKET), the default one it was derived from. nullopt: no
  /// check (a socket chosen by hand, for whatever state dir it serves).
  std::optional<std::string> state_dir_to_check() const;

  /// The connection, made on first use. Null after printing why it failed
  /// (exit_code() then says which code).
  harnesssync::Client* client(bool allow_spawn = true);

  /// The daemon's daemon.info, as fetched for the checks (with the first
  /// call), else fetched now. REQUIRES: client() returned a connection.
  harnesssync::Result<boost::json::object> daemon_info();

  /// Prints "hsctl: <message>" for `e` and returns its exit code.
  int fail(const harnesssync::Error& e);
  /// Prints "hsctl: <message>" and returns exit_code::usage.
  int usage(const std::string& message);
  /// For an answer to `method` that lacks `what` (a daemon of another
  /// version): prints one line saying so and returns exit_code::incompatible.
  int incompatible(std::string_view method, std::string_view what);
  static std::string incompatible_text(std::string_view method, std::string_view what);
  /// The exit code for an error.
  static int code_for(const harnesssync::Error& e);
  int last_error_code() const { return last_code_; }

  /// Prints a JSON value on one line (for --json and `call`).
  static void print_json(const boost::json::value& v);

 private:
  Globals& g_;
  std::optional<harnesssync::Client> client_;
  std::optional<boost::json::object> info_;  // daemon.info from connecting
  std::optional<std::string> incompatible_;  // why check_info refused the daemon's daemon.info

  /// The checks on the connect-time daemon.info (ClientOptions::on_info):
  /// the named state dir is the one served, and the version warning.
  harnesssync::Result<harnesssync::Done> check_info(const boost::json::object& info, const std::string& socket);
  int last_code_ = exit_code::unreachable;
};

/// Members of a daemon's answer, read without trusting their presence or
/// type (an older daemon may lack them): nullopt / null when absent or of
/// another type.
std::optional<std::string> string_member(const boost::json::object& o, std::string_view key);
std::optional<int64_t> int_member(const boost::json::object& o, std::string_view key);
const boost::json::object* object_member(const boost::json::object& o, std::string_view key);

/// An absolute form of `path` (the daemon's working directory is not ours).
std::string absolute(const std::string& path);

/// Reads a JSON object from `file`, or standard input for "-". On failure
/// prints "hsctl: <what> <file>: <why>" and returns nullopt (exit 2).
std::optional<boost::json::object> read_json_object(Context& ctx, const std::string& what, const std::string& file);
/// Parses `text` as a JSON object; on failure prints "hsctl: <what>: ..." and returns nullopt.
std::optional<boost::json::object> parse_json_object(Context& ctx, const std::string& what, const std::string& text);

}  // namespace hsctl
