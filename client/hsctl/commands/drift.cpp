// hsctl drift TARGET [--hashes FILE|-]: the files that changed since the
// target's last sync, grouped as changed, added and removed.
#include <boost/json.hpp>
#include <cstdio>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/output.hpp"

namespace hsctl {
namespace json = boost::json;

namespace {

void print_group(const char* title, const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  std::printf("  %s:\n", title);
  for (const auto& p : paths) std::printf("    %s\n", p.c_str());
}

}  // namespace

Action setup_drift(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string target, hashes;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("TARGET", a->target, "Target name")->required();
  sub.add_option("--hashes", a->hashes,
                 "JSON object {path: hash} of the files as they are now (- for stdin); "
                 "without it the daemon hashes the recorded files itself")
      ->type_name("FILE|-");
  sub.footer("Exit status 1 when any file drifted.");
  return [&ctx, a]() -> int {
    std::optional<std::vector<std::pair<std::string, std::string>>> current;
    if (!a->hashes.empty()) {
      auto hashes = read_json_object(ctx, "--hashes", a->hashes);
      if (!hashes) return exit_code::usage;
      current.emplace();
      for (const auto& [path, hash] : *hashes) {
        if (!hash.is_string()) return ctx.usage("--hashes " + a->hashes + ": the hash of " + std::string(path) + " is not a string");
        current->emplace_back(std::string(path), std::string(hash.get_string()));
      }
    }
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto d = c->drift(a->target, current, ctx.account());
    if (!d) return ctx.fail(d.error());
    if (ctx.globals().json) {
      json::array errors;
      for (const auto& [p, why] : d->errors) errors.push_back(json::object{{"path", p}, {"reason", why}});
      Context::print_json(json::object{{"target", d->target},
                                       {"tracked", d->tracked},
                                       {"drifted", json::array(d->drifted.begin(), d->drifted.end())},
                                       {"changed", json::array(d->changed.begin(), d->changed.end())},
                                       {"added", json::array(d->added.begin(), d->added.end())},
                                       {"removed", json::array(d->removed.begin(), d->removed.end())},
                                       {"errors", std::move(errors)}});
    } else if (!d->tracked && !current) {
      std::printf("%s: never synced, nothing to compare\n", a->target.c_str());
    } else if (d->drifted.empty()) {
      std::printf("%s: no drift\n", a->target.c_str());
    } else {
      std::printf("%s: %s drifted\n", a->target.c_str(),
                  count(static_cast<long>(d->drifted.size()), "file", "files").c_str());
      print_group("changed", d->changed);
      print_group("added", d->added);
      print_group("removed", d->removed);
    }
    if (!ctx.globals().json && !d->errors.empty()) {
      std::printf("  unreadable:\n");
      for (const auto& [p, why] : d->errors) std::printf("    %s: %s\n", p.c_str(), why.c_str());
    }
    return d->drifted.empty() ? exit_code::ok : exit_code::drift;
  };
}

}  // namespace hsctl
