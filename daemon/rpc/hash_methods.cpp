// hash.files: SHA-256 of files, on the hashing service (daemon/hashing/jobs.hpp).
#include "daemon/hashing/jobs.hpp"
#include "daemon/rpc/errors.hpp"
#include "daemon/rpc/method_table.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;

void hash_files(Context& ctx, Call&& c) {
  auto paths = proto::Args(c.params).paths("paths");
  auto keys = paths;
  ctx.jobs.hash_then(c.cancel.owner(), c.cancel, std::move(paths),
                     [keys = std::move(keys), cancel = c.cancel,
                      reply = std::move(c.reply)](std::optional<hashing::Hasher::Digests> digests) {
                       if (!digests) return answer_cancelled(cancel, reply);
                       json::object out;
                       out.reserve(keys.size());
                       for (size_t i = 0; i < keys.size(); ++i) {
                         const auto& h = (*digests)[i];
                         out[keys[i]] = h ? json::value(*h) : json::value(nullptr);
                       }
                       reply(json::value(std::move(out)));
                     });
}

}  // namespace hs::daemon::rpc
