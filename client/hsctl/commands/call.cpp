// hsctl call METHOD [PARAMS_JSON]: a raw JSON-RPC call, for scripts.
#include <boost/json.hpp>

#include "client/hsctl/commands.hpp"

namespace hsctl {
namespace json = boost::json;

Action setup_call(CLI::App& sub, Context& ctx) {
  struct Args {
    std::string method, params;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("METHOD", a->method, "Method name, e.g. state.target")->required();
  sub.add_option("PARAMS_JSON", a->params, "Params as a JSON object (- for stdin)");
  sub.footer("Prints the result as JSON on stdout. A daemon error is one line on stderr, exit 4;\n"
             "with --json the error object is printed on stdout too.");
  return [&ctx, a]() -> int {
    json::object params;
    if (!a->params.empty()) {
      auto parsed = a->params == "-" ? read_json_object(ctx, "call: PARAMS_JSON", "-")
                                     : parse_json_object(ctx, "call: PARAMS_JSON", a->params);
      if (!parsed) return exit_code::usage;
      params = std::move(*parsed);
    }
    auto* c = ctx.client();
    if (c == nullptr) return ctx.last_error_code();
    auto r = c->call(a->method, std::move(params));
    if (!r) {
      const auto& e = r.error();
      if (ctx.globals().json && e.kind == harnesssync::Error::Kind::rpc) {
        json::object err{{"code", e.code}, {"message", e.message}};
        if (!e.data.is_null()) err["data"] = e.data;
        Context::print_json(json::object{{"error", std::move(err)}});
      }
      return ctx.fail(e);
    }
    Context::print_json(*r);
    return exit_code::ok;
  };
}

}  // namespace hsctl
