// The port of client/python/harnesssync/setup.py's lists: each path is
// spelt as Python's pathlib spells it (common/real_path.hpp), so the two
// agree to the byte.
#include "client/hsctl/harnesssync_sources.hpp"

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <set>

#include "common/fs.hpp"
#include "common/real_path.hpp"

namespace hsctl {
namespace json = boost::json;
namespace {

// config_discovery.get_harness_override_paths' targets.
constexpr const char* kOverrideTargets[] = {"codex", "gemini", "opencode", "cursor", "aider", "windsurf"};
constexpr const char* kPluginName = "harness-sync";

std::string join(const std::string& base, std::initializer_list<const char*> names) {
  std::string out = base;
  for (const char* n : names) out = hs::pathlib_join(out, n);
  return out;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// installed_plugins.json's "plugins", or null when it is missing or not JSON.
json::value registry(const std::string& path) {
  auto text = hs::fs::read_file(path);
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec);
  if (ec || !doc.is_object()) return nullptr;
  const json::value* plugins = doc.get_object().if_contains("plugins");
  return plugins != nullptr ? *plugins : json::value(nullptr);
}

// The installs of an entry: a v2 list, or one v1 object.
std::vector<const json::value*> installs_of(const json::value& entry) {
  std::vector<const json::value*> out;
  if (entry.is_array()) {
    for (const auto& e : entry.get_array()) out.push_back(&e);
  } else {
    out.push_back(&entry);
  }
  return out;
}

// A user-scope install's absolute installPath, as pathlib spells it.
std::optional<std::string> user_install(const json::value& install) {
  const json::object* o = install.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* scope = o->if_contains("scope");
  const json::value* path = o->if_contains("installPath");
  if (scope == nullptr || !scope->is_string() || scope->get_string() != "user") return std::nullopt;
  if (path == nullptr || !path->is_string() || path->get_string().empty() || path->get_string()[0] != '/') {
    return std::nullopt;
  }
  return hs::pathlib_str(std::string(path->get_string()));
}

// mcp_reader._get_plugin_install_paths: user-scope installs, v1 or v2.
std::vector<std::string> plugin_install_dirs(const std::string& path) {
  std::vector<std::string> out;
  const json::value plugins = registry(path);
  std::vector<const json::value*> installs;
  if (plugins.is_object()) {
    for (const auto& [key, entry] : plugins.get_object()) {
      for (const auto* i : installs_of(entry)) installs.push_back(i);
    }
  } else if (plugins.is_array()) {
    for (const auto& e : plugins.get_array()) installs.push_back(&e);
  }
  for (const auto* i : installs) {
    if (auto p = user_install(*i)) out.push_back(*p);
  }
  return out;
}

std::string abs_path(const std::string& p) { return hs::pathlib_str(hs::abspath(p)); }

}  // namespace

std::vector<std::string> harnesssync_sources(const std::string& home, const std::vector<std::string>& projects) {
  std::vector<std::string> all;
  const std::string cc = hs::pathlib_join(abs_path(home), ".claude");
  for (const char* n : {"CLAUDE.md", "rules", "skills", "agents", "commands", "settings.json", ".claude.json",
                        ".mcp.json"}) {
    all.push_back(join(cc, {n}));
  }
  const std::string reg = join(cc, {"plugins", "installed_plugins.json"});
  all.push_back(reg);
  for (auto& p : plugin_install_dirs(reg)) all.push_back(std::move(p));
  for (const auto& project : projects) {
    const std::string p = abs_path(project);
    for (const char* n : {"CLAUDE.md", "CLAUDE.local.md", ".claude", ".mcp.json"}) all.push_back(join(p, {n}));
    for (const char* t : kOverrideTargets) all.push_back(join(p, {(std::string("CLAUDE.") + t + ".md").c_str()}));
    all.push_back(join(p, {"hooks", "hooks.json"}));
    all.push_back(join(p, {".harness-sync", "overrides"}));
    // A .harnesssync directory is a state dir (a project at ~): watching it
    // would make every sync a change.
    if (!is_dir(join(p, {".harnesssync"}))) all.push_back(join(p, {".harnesssync"}));
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& p : all) {
    if (seen.insert(p).second) out.push_back(std::move(p));
  }
  return out;
}

std::optional<std::string> find_harnesssync(const std::string& home) {
  const std::string reg = join(hs::pathlib_join(abs_path(home), ".claude"), {"plugins", "installed_plugins.json"});
  const json::value plugins = registry(reg);
  if (!plugins.is_object()) return std::nullopt;
  for (const auto& [key, entry] : plugins.get_object()) {
    const std::string k(key);
    if (k.substr(0, k.find('@')) != kPluginName) continue;
    for (const auto* i : installs_of(entry)) {
      auto p = user_install(*i);
      if (p && is_file(join(*p, {"src", "orchestrator.py"}))) return p;
    }
  }
  return std::nullopt;
}

harnesssync::TriggerSpec harnesssync_trigger(const std::string& name, const std::string& home,
                                             const std::vector<std::string>& projects, const std::string& plugin_dir,
                                             const std::string& python) {
  harnesssync::TriggerSpec spec;
  spec.name = name;
  std::vector<std::string> once;
  std::set<std::string> seen;
  for (const auto& p : projects) {
    std::string a = hs::abspath(p);
    if (seen.insert(a).second) once.push_back(std::move(a));
  }
  spec.watch = harnesssync_sources(home, once);
  spec.command = {python, "-m", "harnesssync.run_sync", "--plugin-dir", hs::abspath(plugin_dir)};
  for (const auto& p : once) {
    spec.command.push_back("--project");
    spec.command.push_back(p);
  }
  spec.cwd = once.empty() ? abs_path(home) : once.front();
  return spec;
}

}  // namespace hsctl
