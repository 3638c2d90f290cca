// hash.files: SHA-256 of files, computed on the blocking pool.
#include "common/sha256.hpp"
#include "daemon/methods/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon {
namespace json = boost::json;

void hash_files(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  auto paths = p.paths("paths");
  p.no_others({"paths"});
  if (!p.ok()) return c.reply(p.error());
  ctx.offload(
      c.cancel, [paths = std::move(paths)]() -> Outcome {
        json::object out;
        for (const auto& path : paths) {
          auto h = sha256_file(path);
          out[path] = h ? json::value(*h) : json::value(nullptr);
        }
        return json::value(std::move(out));
      },
      std::move(c.reply));
}

}  // namespace hs::daemon
