#include "daemon/options.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/socket_path.hpp"
#include "common/version.hpp"

namespace hs::daemon {

namespace {
constexpr const char* kFooter = HS_SOCKET_RULE_HELP R"(Layout: --schema, else $HARNESSSYNC_SCHEMA, else 2 (HarnessSync 0.1.4's: version 2
with accounts); 1 is the seed's. A state.json that is already version 2 is kept
in layout 2 whatever the flag says.

Runs in the foreground and logs to stderr. SIGTERM or SIGINT (or the
daemon.shutdown method) stop it gracefully.

Exit status:
  0   stopped cleanly
  1   unexpected error while running
  64  usage error (a --schema or $HARNESSSYNC_SCHEMA other than 1 or 2
      included), the socket path is too long, or a socket passed in by
      systemd or launchd cannot be used
  66  state.json is not a regular file (a FIFO, a device, a directory)
  71  the socket cannot be created
  73  the state dir cannot be created or written
  75  another harnesssyncd runs on this state dir or socket (the message
      names its pid)
  77  the socket's directory or the private runtime dir is not 0700 or not
      yours; the state dir is not yours or is writable by group or others
  78  state.json has a schema version above 2 (left untouched))";
}  // namespace

std::variant<Options, int> parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"harnesssyncd: the HarnessSync state daemon. The only process that reads and "
               "writes state.json; serves JSON-RPC 2.0 on a Unix socket.",
               "harnesssyncd"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("harnesssyncd ") + kVersion);
  std::string level = "info";
  app.add_option("--state-dir", o.state_dir, "State directory")->type_name("DIR");
  app.add_option("--socket", o.socket, "Socket path")->type_name("PATH");
  app.add_option("--log-level", level, "error, warn, info or debug (default info)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  auto& l = o.limits;
  app.add_option("--max-message-bytes", l.max_message_bytes, "Largest message (default 16 MiB)")
      ->check(CLI::Range(size_t{64}, size_t{1} << 31));
  app.add_option("--max-connections", l.max_connections, "Open connections (default 512; at it, an idle one holding nothing makes room)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--message-timeout-ms", l.message_timeout_ms,
                 "A started message must be complete within this (default 30000)")
      ->check(CLI::Range(1u, 86400000u));
  app.add_option("--max-batch", l.max_batch, "Requests in one batch (default 1024)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--max-output-bytes", l.max_output_bytes,
                 "Unsent output per connection before it is closed (default 64 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 34));
  app.add_option("--max-locks", o.max_locks,
                 "Lock names one connection may hold or wait for at once (default 1024); past it, -32001")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--ready-fd", o.ready_fd,
                 "Write READY (or ERROR <reason>) to this fd when start-up ends (for clients that start the daemon)")
      ->check(CLI::Range(0, 1 << 20))
      ->type_name("FD");
  app.add_flag("--detach", o.detach,
               "Fork at start: this process exits 0 at once and the daemon runs on in a process group of its "
               "own, not the starter's child (for clients that start the daemon; with --ready-fd)");
  app.add_option("--schema", o.schema,
                 "State file layout: 1 (version 1) or 2 (version 2 with accounts, as HarnessSync 0.1.4 "
                 "writes); default $HARNESSSYNC_SCHEMA, else 2")
      ->envname("HARNESSSYNC_SCHEMA")
      ->check([](const std::string& v) -> std::string {
        // Also says where it came from: a stray $HARNESSSYNC_SCHEMA is easy to miss.
        return v == "1" || v == "2" ? "" : "must be 1 or 2 (from --schema or $HARNESSSYNC_SCHEMA), not '" + v + "'";
      })
      ->type_name("1|2");
  app.add_option("--hash-workers", o.hash_workers,
                 "Threads that hash files (default: one per core, at least 2)")
      ->check(CLI::Range(size_t{1}, size_t{256}))
      ->type_name("N");
  app.add_option("--max-watches", o.max_watches,
                 "Directory watches for live drift at most (default: as many as the OS allows); "
                 "files past it are polled by stat every 2 s")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->type_name("N");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed to stdout
    std::cerr << "harnesssyncd: " << e.what() << " (see --help)\n";  // one line
    return exit_code::usage;
  }
  o.log_level = *log::parse_level(level);
  return o;
}

}  // namespace hs::daemon
