// hsctl trigger run NAME [--wait]: runs a trigger now; with --wait, waits
// for the run that covers this request (its number is trigger.run's
// answer), shows its output and exits with its result (wait_exit_code).
// It learns of the end from trigger.finished (state.subscribe with
// triggers), and from trigger.log when the daemon had to drop
// notifications for it (a resync).
#include <signal.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/trigger_text.hpp"

namespace hsctl {
namespace json = boost::json;
namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) { g_stop = 1; }

// The run `n` of `name`, once it has ended, from trigger.log.
std::optional<harnesssync::TriggerRun> ended_run(harnesssync::Client& c, const std::string& name, int64_t n) {
  auto log = c.trigger_log(name, 100);
  if (!log) return std::nullopt;
  for (auto& r : *log) {
    if (r.run == n && (r.ended || r.coalesced)) return std::move(r);
  }
  return std::nullopt;
}

int wait_for(Context& ctx, harnesssync::Client& c, const std::string& name, int64_t n, bool& check_log) {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int polls = 0;
  while (g_stop == 0) {
    auto got = c.poll_notifications(std::chrono::milliseconds(200));
    if (!got) {
      if (g_stop != 0) break;
      std::fprintf(stderr, "hsctl: harnesssyncd went away (%s) before run %lld of %s ended\n",
                   got.error().message.c_str(), static_cast<long long>(n), name.c_str());
      return exit_code::unreachable;
    }
    // Every few seconds anyway: a notification lost on the way (the daemon
    // bounds what a client leaves unread) must not leave us waiting.
    if (++polls % 25 == 0) check_log = true;
    if (!check_log) continue;
    check_log = false;
    if (auto r = ended_run(c, name, n)) {
      if (!r->stdout_tail.empty()) std::fwrite(r->stdout_tail.data(), 1, r->stdout_tail.size(), stdout);
      if (!r->stderr_tail.empty()) std::fwrite(r->stderr_tail.data(), 1, r->stderr_tail.size(), stderr);
      std::fflush(stdout);
      if (r->coalesced) {
        std::cerr << "hsctl: run " << n << " of " << name
                  << " was coalesced: the caller waiting for its lock runs for it\n";
      } else if (!ctx.globals().json && (r->timed_out || r->signal || r->exit_code != 0)) {
        std::cerr << "hsctl: run " << n << " of " << name << ": " << result_text(*r) << "\n";
      }
      if (ctx.globals().json) Context::print_json(json::value(json::object{{"run", n}, {"result", result_text(*r)}}));
      return wait_exit_code(*r);
    }
  }
  std::cerr << "hsctl: stopped waiting; run " << n << " of " << name << " goes on in the daemon\n";
  return 128 + SIGINT;
}

}  // namespace

Action setup_trigger_run(CLI::App& sub, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto wait = std::make_shared<bool>(false);
  sub.add_option("NAME", *name, "Trigger name")->required();
  sub.add_flag("--wait", *wait, "Wait for the run, show its output, and exit with its result");
  sub.footer(
      "Runs the trigger now, without settling, or once more after the run in progress. Prints\n"
      "the number of the run that covers this request. --wait: waits for that run, prints its\n"
      "output (the last 64 KiB of each stream), and exits with its exit status; 124 when it\n"
      "timed out; 128+N when signal N ended it; 127 when its command could not be started; 0\n"
      "when it was coalesced (a caller waiting for the same lock runs for it; a note says so);\n"
      "130 when hsctl was interrupted (the run goes on); 3 when the daemon went away.");
  return [&ctx, name, wait]() -> int {
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    // Set up before asking: the end of a quick run must not pass unseen.
    bool check_log = false;
    int64_t want = 0;
    if (*wait) {
      c->on_notification([&](std::string_view method, const json::object& p) {
        const json::value* n = p.if_contains("name");
        const json::value* run = p.if_contains("run");
        if (method == "trigger.finished" && n != nullptr && n->is_string() && n->get_string() == *name &&
            run != nullptr && run->is_int64() && run->get_int64() >= want) {
          check_log = true;
        }
        const json::value* kind = p.if_contains("kind");
        if (method == "state.changed" && kind != nullptr && kind->is_string() && kind->get_string() == "reloaded") {
          check_log = true;  // a resync: notifications were dropped
        }
      });
      auto sub_id = c->subscribe_triggers();
      if (!sub_id) return ctx.fail(sub_id.error());
    }
    auto n = c->trigger_run(*name);
    if (!n) {
      const auto& e = n.error();
      if (e.kind == harnesssync::Error::Kind::rpc && e.code == -32602)
        return ctx.usage("trigger run " + *name + ": " + e.message);
      return ctx.fail(e);
    }
    want = *n;
    if (!*wait) {
      if (ctx.globals().json) {
        Context::print_json(json::value(json::object{{"queued", true}, {"run", *n}}));
      } else {
        std::printf("trigger %s: run %lld queued\n", name->c_str(), static_cast<long long>(*n));
      }
      return exit_code::ok;
    }
    // It may have ended between the answer and now, before our handler saw it.
    check_log = true;
    return wait_for(ctx, *c, *name, *n, check_log);
  };
}

}  // namespace hsctl
