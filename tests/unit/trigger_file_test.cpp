// A trigger's definition and triggers.json (daemon/triggers/spec.hpp,
// trigger_file.hpp): defaults, every rule naming its field, command
// resolution, the round trip, and a corrupt file moved aside, never
// silently emptied.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "daemon/triggers/trigger_file.hpp"
#include "tests/catch.hpp"

using namespace hs::daemon::triggers;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::object params(const std::string& text) { return json::parse(text).as_object(); }

const std::string kGood = R"({"name": "sync", "watch": ["/home/u/.claude"], "command": ["/bin/true"]})";

// The field a bad params object is refused for.
std::string refused_field(const std::string& text) {
  auto r = parse_spec(params(text), "/state", nullptr);
  if (r) return "(accepted)";
  REQUIRE(r.error().code == hs::Errc::invalid_argument);
  return r.error().field;
}

struct TempDir {
  TempDir() {
    std::string t = (fs::temp_directory_path() / "hs-trig-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("trigger spec: the defaults of the protocol", "[triggers]") {
  auto s = parse_spec(params(kGood), "/state", nullptr);
  REQUIRE(s);
  CHECK(s->cwd == "/state");
  CHECK(s->env.empty());
  CHECK(s->settle_ms == 300);
  CHECK(s->max_wait_ms == 3000);
  CHECK(s->lock == std::optional<std::string>("sync"));
  CHECK(s->timeout_ms == 600000);
  CHECK(s->enabled);
  // A settle past the default max-wait raises it; lock null is none.
  auto t = parse_spec(params(R"({"name": "a", "watch": ["/x/"], "command": ["/bin/true"], "settle_ms": 5000,
                                 "lock": null})"),
                      "/state", nullptr);
  REQUIRE(t);
  CHECK(t->max_wait_ms == 5000);
  CHECK_FALSE(t->lock);
  CHECK(t->watch == std::vector<std::string>{"/x"});
}

TEST_CASE("trigger spec: every bad param is refused naming its field", "[triggers]") {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"watch": ["/a"], "command": ["/bin/true"]})", "name"},
      {R"({"name": "bad name", "watch": ["/a"], "command": ["/bin/true"]})", "name"},
      {R"({"name": 7, "watch": ["/a"], "command": ["/bin/true"]})", "name"},
      {R"({"name": "a", "command": ["/bin/true"]})", "watch"},
      {R"({"name": "a", "watch": [], "command": ["/bin/true"]})", "watch"},
      {R"({"name": "a", "watch": ["relative"], "command": ["/bin/true"]})", "watch"},
      {R"({"name": "a", "watch": "/a", "command": ["/bin/true"]})", "watch"},
      {R"({"name": "a", "watch": [""], "command": ["/bin/true"]})", "watch"},
      {R"({"name": "a", "watch": ["/a"]})", "command"},
      {R"({"name": "a", "watch": ["/a"], "command": []})", "command"},
      {R"({"name": "a", "watch": ["/a"], "command": "/bin/true"})", "command"},
      {R"({"name": "a", "watch": ["/a"], "command": [""]})", "command"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true", 3]})", "command"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "cwd": "rel"})", "cwd"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "env": ["A=b"]})", "env"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "env": {"A=B": "c"}})", "env"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "env": {"A": 1}})", "env"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "settle_ms": -1})", "settle_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "settle_ms": 60001})", "settle_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "settle_ms": 1.5})", "settle_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "settle_ms": 500, "max_wait_ms": 400})",
       "max_wait_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "max_wait_ms": "1"})", "max_wait_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "lock": "no way"})", "lock"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "lock": false})", "lock"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "timeout_ms": 0})", "timeout_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "timeout_ms": 1099511627777})", "timeout_ms"},
      {R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "enabled": 1})", "enabled"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    CHECK(refused_field(c.json) == c.field);
  }
  std::string many = R"({"name": "a", "command": ["/bin/true"], "watch": [)";
  for (int i = 0; i < 257; ++i) many += (i ? ",\"/p" : "\"/p") + std::to_string(i) + "\"";
  CHECK(refused_field(many + "]}") == "watch");
}

TEST_CASE("trigger spec: the command is found on PATH and stored resolved; cwd must be a directory", "[triggers]") {
  const auto checks = system_checks("/nonexistent:/usr/bin:/bin");
  auto s = parse_spec(params(R"({"name": "a", "watch": ["/a"], "command": ["sh", "-c", "true"], "cwd": "/"})"), "/",
                      &checks);
  REQUIRE(s);
  CHECK((s->command[0] == "/usr/bin/sh" || s->command[0] == "/bin/sh"));
  CHECK(s->command[1] == "-c");
  auto missing = parse_spec(params(R"({"name": "a", "watch": ["/a"], "command": ["no-such-command-xyz"]})"), "/",
                            &checks);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().field == "command");
  CHECK(missing.error().detail.find("no-such-command-xyz") != std::string::npos);
  auto rel = parse_spec(params(R"({"name": "a", "watch": ["/a"], "command": ["bin/x"]})"), "/", &checks);
  REQUIRE_FALSE(rel);
  CHECK(rel.error().field == "command");
  auto not_exec = parse_spec(params(R"({"name": "a", "watch": ["/a"], "command": ["/etc/passwd"]})"), "/", &checks);
  REQUIRE_FALSE(not_exec);
  CHECK(not_exec.error().field == "command");
  auto cwd = parse_spec(params(R"({"name": "a", "watch": ["/a"], "command": ["/bin/true"], "cwd": "/etc/passwd"})"),
                        "/", &checks);
  REQUIRE_FALSE(cwd);
  CHECK(cwd.error().field == "cwd");
}

TEST_CASE("triggers.json: what is saved is read back the same", "[triggers]") {
  TempDir d;
  Saved a;
  a.spec = *parse_spec(params(R"({"name": "a", "watch": ["/a", "/b"], "command": ["/bin/echo", "hi"],
                                  "env": {"K": "v"}, "lock": null, "timeout_ms": 5000})"),
                       d.path, nullptr);
  a.paused = true;
  a.runs = 12;
  a.owed = true;
  a.signature = std::string(64, 'f');
  RunRecord last;
  last.run = 12;
  last.started = "2026-01-01T00:00:00.000001";
  last.ended = "2026-01-01T00:00:01.000001";
  last.exit_code = 0;
  last.changed = 3;
  last.duration_ms = 1000;
  a.last = last;
  Saved b;
  b.spec = *parse_spec(params(kGood), d.path, nullptr);
  b.spec.name = "b";
  REQUIRE(save_file(d.path, {a, b}));
  struct stat st {};
  REQUIRE(::stat((d.path + "/triggers.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = load_file(d.path);
  REQUIRE(loaded);
  CHECK(loaded->warnings.empty());
  REQUIRE(loaded->triggers.size() == 2);
  CHECK(loaded->triggers[0] == a);
  CHECK(loaded->triggers[1] == b);
}

TEST_CASE("triggers.json: none is no triggers; a corrupt one is moved aside with a warning", "[triggers]") {
  TempDir d;
  auto none = load_file(d.path);
  REQUIRE(none);
  CHECK(none->triggers.empty());
  CHECK(none->warnings.empty());

  const std::string garbage = "{\"version\": 1, \"triggers\": [{\"name\"";
  std::ofstream(d.path + "/triggers.json") << garbage;
  auto got = load_file(d.path);
  REQUIRE(got);
  CHECK(got->triggers.empty());
  REQUIRE(got->warnings.size() == 1);
  CHECK(got->warnings[0].find("moved to") != std::string::npos);
  // The original is kept, byte for byte, beside.
  int backups = 0;
  for (const auto& e : fs::directory_iterator(d.path)) {
    if (e.path().filename().string().rfind("triggers.json.bak.", 0) == 0) {
      ++backups;
      CHECK(slurp(e.path().string()) == garbage);
    }
  }
  CHECK(backups == 1);
}

TEST_CASE("triggers.json: a bad entry is left out, the good ones kept, the file as it was kept aside", "[triggers]") {
  TempDir d;
  const std::string text =
      R"({"version": 1, "triggers": [{"name": "good", "watch": ["/a"], "command": ["/bin/true"]},
          {"name": "bad", "watch": ["relative"], "command": ["/bin/true"]},
          {"name": "good", "watch": ["/b"], "command": ["/bin/true"]}]})";
  std::ofstream(d.path + "/triggers.json") << text;
  auto got = load_file(d.path);
  REQUIRE(got);
  REQUIRE(got->triggers.size() == 1);
  CHECK(got->triggers[0].spec.watch == std::vector<std::string>{"/a"});
  CHECK(got->warnings.size() == 2);
  // The kept file holds the good entry; the original is beside it.
  auto again = load_file(d.path);
  REQUIRE(again);
  CHECK(again->warnings.empty());
  CHECK(again->triggers.size() == 1);
  bool kept = false;
  for (const auto& e : fs::directory_iterator(d.path)) {
    if (e.path().filename().string().rfind("triggers.json.bak.", 0) == 0) kept = slurp(e.path().string()) == text;
  }
  CHECK(kept);
}

TEST_CASE("triggers.json: a version this daemon does not know is not taken as empty", "[triggers]") {
  auto r = decode(R"({"version": 2, "triggers": []})", "/");
  CHECK_FALSE(r);
  auto shape = decode(R"({"version": 1, "triggers": {}})", "/");
  CHECK_FALSE(shape);
}
