// Every method's params are checked from its table row: missing, unknown
// and wrong-typed params get -32602 naming the field, and rpc.discover
// publishes the schemas of the same ParamTypes the checks use.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/rpc/method_table.hpp"
#include "tests/catch.hpp"

namespace json = boost::json;
using hs::daemon::rpc::MethodSpec;
using hs::daemon::rpc::method_table;
using hs::daemon::rpc::validate_params;
using hs::proto::ParamType;

namespace {

const ParamType kAllTypes[] = {ParamType::name,       ParamType::string,  ParamType::path,
                               ParamType::path_map,   ParamType::paths,   ParamType::count,
                               ParamType::object_map, ParamType::boolean, ParamType::number,
                               ParamType::history_n,  ParamType::names,   ParamType::watch_paths,
                               ParamType::argv,       ParamType::abs_path, ParamType::env_map,
                               ParamType::lock_or_null, ParamType::settle_ms, ParamType::duration_ms,
                               ParamType::log_runs};

json::value valid_value(ParamType t) {
  switch (t) {
    case ParamType::name: return "codex";
    case ParamType::string: return "all";
    case ParamType::path: return "/tmp/x";
    case ParamType::path_map: return json::object{{"/a", "h"}};
    case ParamType::paths: return json::array{"/a", "/b"};
    case ParamType::count: return 3;
    case ParamType::object_map: return json::object{{"p", json::object{{"version", "1.0"}}}};
    case ParamType::boolean: return true;
    case ParamType::number: return 42.5;
    case ParamType::history_n: return 30;
    case ParamType::names: return json::array{"codex", "gemini"};
    case ParamType::watch_paths: return json::array{"/home/u/.claude", "/p/CLAUDE.md"};
    case ParamType::argv: return json::array{"/bin/true", "x"};
    case ParamType::abs_path: return "/tmp";
    case ParamType::env_map: return json::object{{"K", "v"}};
    case ParamType::lock_or_null: return "sync";
    case ParamType::settle_ms: return 300;
    case ParamType::duration_ms: return 3000;
    case ParamType::log_runs: return 10;
  }
  return nullptr;
}

json::object valid_params(const MethodSpec& m) {
  json::object o;
  for (const auto& p : m.params) o[p.name] = valid_value(p.type);
  return o;
}

void check_error(const std::optional<hs::proto::RpcError>& e, std::string_view field, std::string_view reason) {
  REQUIRE(e);
  CHECK(e->code == -32602);
  CHECK(e->data.at("field").as_string() == field);
  CHECK(e->data.at("reason").as_string() == reason);
}

}  // namespace

TEST_CASE("methods: every spec accepts its valid params and refuses missing, unknown and wrong-typed ones",
          "[methods]") {
  for (const auto& m : method_table()) {
    INFO("method " << m.name);
    const json::object good = valid_params(m);
    CHECK_FALSE(validate_params(m, good));
    // Only the required ones.
    json::object minimal;
    for (const auto& p : m.params) {
      if (p.required) minimal[p.name] = valid_value(p.type);
    }
    CHECK_FALSE(validate_params(m, minimal));

    json::object unknown = good;
    unknown["no_such_param"] = 1;
    check_error(validate_params(m, unknown), "no_such_param", "unknown parameter");

    for (const auto& p : m.params) {
      INFO("param " << p.name);
      if (p.required) {
        json::object missing = good;
        missing.erase(p.name);
        check_error(validate_params(m, missing), p.name, "missing");
      }
      json::object wrong = good;
      // A value of a kind no other type of the row's accepts.
      wrong[p.name] = p.type == ParamType::boolean ? json::value(json::array{1}) : json::value(true);
      auto e = validate_params(m, wrong);
      REQUIRE(e);
      CHECK(e->code == -32602);
      CHECK(e->data.at("field").as_string() == p.name);
    }
  }
}

TEST_CASE("methods: rpc.discover's param schemas are the ones validation uses", "[methods]") {
  json::object doc = hs::daemon::rpc::openrpc_document();
  const json::array& methods = doc.at("methods").as_array();
  REQUIRE(methods.size() == method_table().size());
  size_t i = 0;
  for (const auto& m : method_table()) {
    const json::object& d = methods[i++].as_object();
    CHECK(d.at("name").as_string() == m.name);
    const json::array& params = d.at("params").as_array();
    REQUIRE(params.size() == m.params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      const auto& p = m.params[k];
      CHECK(params[k].at("name").as_string() == p.name);
      CHECK(params[k].at("required").as_bool() == p.required);
      CHECK(params[k].at("schema") == json::parse(hs::proto::param_schema(p.type)));
    }
  }
}

TEST_CASE("methods: each param type's check matches its schema's limits", "[methods]") {
  using hs::proto::check_param;
  for (ParamType t : kAllTypes) {
    INFO("type " << hs::proto::param_schema(t));
    CHECK_FALSE(check_param(t, "f", valid_value(t)));
    // null is "none" for a lock, and nothing for any other type.
    CHECK(static_cast<bool>(check_param(t, "f", nullptr)) == (t != ParamType::lock_or_null));
    json::parse(hs::proto::param_schema(t));  // valid JSON
  }
  const std::string long_path(4097, 'a');
  check_error(check_param(ParamType::name, "target", ""), "target", "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  check_error(check_param(ParamType::name, "target", json::value(std::string(65, 'a'))), "target",
              "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  CHECK_FALSE(check_param(ParamType::name, "target", json::value(std::string(64, 'a'))));
  check_error(check_param(ParamType::string, "scope", 1), "scope", "must be a string");
  check_error(check_param(ParamType::path, "p", ""), "p", "path must not be empty");
  check_error(check_param(ParamType::path, "p", json::value(long_path)), "p", "path longer than 4096 bytes");
  check_error(check_param(ParamType::path, "p", json::value(std::string("a\0b", 3))), "p", "path contains a NUL byte");
  check_error(check_param(ParamType::count, "synced", -1), "synced", "must be an integer from 0 to 2^53-1");
  check_error(check_param(ParamType::count, "synced", 9007199254740992), "synced", "must be an integer from 0 to 2^53-1");
  check_error(check_param(ParamType::count, "synced", 1.0), "synced", "must be an integer from 0 to 2^53-1");
  check_error(check_param(ParamType::count, "synced", "1"), "synced", "must be an integer");
  CHECK_FALSE(check_param(ParamType::count, "synced", 9007199254740991));
  check_error(check_param(ParamType::path_map, "m", json::array{}), "m", "must be an object of {path: string}");
  check_error(check_param(ParamType::path_map, "m", json::object{{"", "h"}}), "m", "path must not be empty");
  check_error(check_param(ParamType::path_map, "m", json::object{{"/a", 1}}), "m",
              "the value for \"/a\" must be a string");
  check_error(check_param(ParamType::paths, "paths", json::object{}), "paths", "must be an array of paths");
  check_error(check_param(ParamType::paths, "paths", json::array{1}), "paths", "every element must be a string");
  check_error(check_param(ParamType::paths, "paths", json::array{long_path}), "paths", "path longer than 4096 bytes");
  CHECK_FALSE(check_param(ParamType::paths, "paths", json::array{}));
}
