// hsctl record TARGET --scope S [--synced N] [--skipped N] [--failed N]
//              [--file PATH[=HASH]]... [--method PATH=METHOD]... [--params FILE|-]
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "client/hsctl/commands.hpp"
#include "client/hsctl/output.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_record(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string target, scope, params;
    std::optional<int64_t> synced, skipped, failed;
    std::vector<std::string> files, methods;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("TARGET", a->target, "Target name")->required();
  sub.add_option("--scope", a->scope, "Sync scope: all, user, project, ... (required unless in --params)");
  sub.add_option("--synced", a->synced, "Items synced (default 0)")->check(CLI::NonNegativeNumber);
  sub.add_option("--skipped", a->skipped, "Items skipped (default 0)")->check(CLI::NonNegativeNumber);
  sub.add_option("--failed", a->failed, "Items failed (default 0)")->check(CLI::NonNegativeNumber);
  sub.add_option("--file", a->files,
                 "A synced file, with its hash; without =HASH the daemon hashes it (a missing file is "
                 "recorded as \"\", HarnessSync's mark for it). Repeatable.")
      ->type_name("PATH[=HASH]");
  sub.add_option("--method", a->methods, "How a file was synced (symlink, copy, ...). Repeatable.")
      ->type_name("PATH=METHOD");
  sub.add_option("--params", a->params,
                 "A JSON object of state.record params (- for stdin); the options above add to it")
      ->type_name("FILE|-");
  return [&ctx, a]() -> int {
    json::object p;
    if (!a->params.empty()) {
      auto params = read_json_object(ctx, "--params", a->params);
      if (!params) return exit_code::usage;
      p = std::move(*params);
    }
    p["target"] = a->target;
    if (auto acct = ctx.account()) p["account"] = *acct;
    if (!a->scope.empty()) p["scope"] = a->scope;
    if (!p.contains("scope")) return ctx.usage("record: --scope is required");
    for (auto [key, val] : {std::pair{"synced", a->synced}, {"skipped", a->skipped}, {"failed", a->failed}}) {
      if (val) p[key] = *val;
      if (!p.contains(key)) p[key] = 0;
    }
    if (!p.contains("file_hashes")) p["file_hashes"] = json::object();
    if (!p["file_hashes"].is_object()) return ctx.usage("--params: file_hashes must be an object");
    json::object& hashes = p["file_hashes"].as_object();
    std::vector<std::string> to_hash;
    for (const auto& f : a->files) {
      auto eq = f.find('=');
      std::string path = absolute(f.substr(0, eq));
      if (eq == std::string::npos) {
        to_hash.push_back(path);
        hashes[path] = "";
      } else {
        hashes[path] = f.substr(eq + 1);
      }
    }
    if (!a->methods.empty()) {
      if (!p.contains("sync_methods")) p["sync_methods"] = json::object();
      if (!p["sync_methods"].is_object()) return ctx.usage("--params: sync_methods must be an object");
      for (const auto& m : a->methods) {
        auto eq = m.find('=');
        if (eq == std::string::npos) return ctx.usage("--method " + m + ": expected PATH=METHOD");
        p["sync_methods"].as_object()[absolute(m.substr(0, eq))] = m.substr(eq + 1);
      }
    }
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    if (!to_hash.empty()) {
      auto h = c->hash_files(to_hash);
      if (!h) return ctx.fail(h.error());
      for (const auto& path : to_hash) {
        const auto& hash = (*h)[path];
        if (hash) {
          hashes[path] = *hash;
        } else {
          std::cerr << "hsctl: warning: " << path << " is missing or unreadable; recorded as \"\"\n";
        }
      }
    }
    auto r = c->call("state.record", std::move(p));
    if (!r) return ctx.fail(r.error());
    if (ctx.globals().json) {
      Context::print_json(*r);
    } else {
      const json::object* e = r->if_object();
      if (e == nullptr) return ctx.incompatible("state.record", "an entry object");
      auto status = string_member(*e, "status");
      if (!status) return ctx.incompatible("state.record", "\"status\"");
      long long n[3];
      const char* keys[3] = {"items_synced", "items_skipped", "items_failed"};
      for (int i = 0; i < 3; ++i) {
        auto v = int_member(*e, keys[i]);
        if (!v) return ctx.incompatible("state.record", "\"" + std::string(keys[i]) + "\"");
        n[i] = static_cast<long long>(*v);
      }
      const json::object* files = object_member(*e, "file_hashes");
      if (files == nullptr) return ctx.incompatible("state.record", "\"file_hashes\"");
      std::printf("recorded %s: %s, %lld synced, %lld skipped, %lld failed, %s\n", a->target.c_str(),
                  status->c_str(), n[0], n[1], n[2],
                  count(static_cast<long>(files->size()), "file", "files").c_str());
    }
    return exit_code::ok;
  };
}

}  // namespace hsctl
