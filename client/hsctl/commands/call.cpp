// hsctl call METHOD [PARAMS_JSON]: a raw JSON-RPC call, for scripts.
#include <boost/json.hpp>
#include <iostream>
#include <sstream>

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
      std::string text = a->params;
      if (text == "-") {
        std::stringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
      }
      boost::system::error_code ec;
      json::value v = json::parse(text, ec);
      if (ec || !v.is_object()) return ctx.usage("call: PARAMS_JSON must be a JSON object");
      params = std::move(v.get_object());
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
