#include "daemon/live/notices.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>

#include "proto/wire_json.hpp"

namespace hs::daemon::live {
namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& v) { return json::array(v.begin(), v.end()); }

// The members of an object's text, without its braces.
std::string members_text(const json::object& o) {
  std::string text = proto::to_wire_json(o);
  return text.substr(1, text.size() - 2);
}

}  // namespace

proto::JsonText drift_body(const store::DriftReport& report) {
  json::array errors;
  for (const auto& [path, reason] : report.errors) errors.push_back(json::object{{"path", path}, {"reason", reason}});
  json::object o;
  o["changed"] = strings(report.changed);
  o["removed"] = strings(report.removed);
  o["errors"] = std::move(errors);
  return std::make_shared<const std::string>(members_text(o));
}

net::ResponseText drifted_message(uint64_t subscription, const std::string& target,
                             const std::optional<std::string>& account, const proto::JsonText& body) {
  json::object head;
  head["subscription"] = subscription;
  head["target"] = target;
  if (account) head["account"] = *account;
  net::ResponseText r;
  r.head = R"({"jsonrpc":"2.0","method":"state.drifted","params":{)" + members_text(head) + ",";
  r.shared = body;
  r.tail = "}}";
  return r;
}

net::ResponseText changed_message(uint64_t subscription, const sequencer::ChangeNote& note,
                                  const json::value& last_sync) {
  json::object params;
  params["subscription"] = subscription;
  if (note.target) {
    params["target"] = *note.target;
  } else {
    params["target"] = nullptr;
  }
  if (note.account) params["account"] = *note.account;
  params["kind"] = note.kind;
  params["last_sync"] = last_sync;
  net::ResponseText r;
  r.head = proto::to_wire_json(json::object{{"jsonrpc", "2.0"}, {"method", "state.changed"}, {"params", std::move(params)}});
  return r;
}

net::ResponseText trigger_message(uint64_t subscription, const char* method, const json::object& params) {
  json::object p;
  p["subscription"] = subscription;
  for (const auto& [k, v] : params) p[k] = v;
  net::ResponseText r;
  r.head = proto::to_wire_json(json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(p)}});
  return r;
}

}  // namespace hs::daemon::live
