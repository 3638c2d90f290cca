// state.account, state.accounts: the accounts of layout 2, read back.
#include "daemon/rpc/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
using store::StateStore;

void state_account(Context& ctx, Call&& c) {
  std::string account = proto::Args(c.params).str("account");
  ctx.seq.read([account = std::move(account), reply = std::move(c.reply)](const StateStore& s) {
    const json::object* a = s.find_account(account);
    reply(a != nullptr ? json::value(*a) : json::value(nullptr));
  }, c.cancel.owner());
}

void state_accounts(Context& ctx, Call&& c) {
  ctx.seq.read([reply = std::move(c.reply)](const StateStore& s) {
    json::array names;
    for (auto& n : s.account_names()) names.emplace_back(std::move(n));
    reply(json::value(std::move(names)));
  }, c.cancel.owner());
}

}  // namespace hs::daemon::rpc
