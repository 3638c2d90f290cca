#include "daemon/drift_check.hpp"

#include <unordered_map>

#include "daemon/methods/hashing.hpp"

namespace hs::daemon {
namespace json = boost::json;

namespace {

// The paths an entry records, in stored order.
std::vector<std::string> stored_paths(const json::object& entry) {
  std::vector<std::string> out;
  const json::value* h = entry.if_contains("file_hashes");
  if (h == nullptr || !h->is_object()) return out;
  out.reserve(h->get_object().size());
  for (const auto& kv : h->get_object()) out.emplace_back(kv.key());
  return out;
}

}  // namespace

void check_drift(Context& ctx, std::optional<json::object> entry, const void* owner, CancelToken cancel,
                 std::function<void(std::optional<store::DriftReport>)> done) {
  if (!entry) return done(store::drift_on_disk(nullptr));
  auto paths = stored_paths(*entry);
  hash_then(ctx, owner, std::move(cancel), paths,
            [entry = std::move(*entry), paths, done = std::move(done)](std::optional<Hasher::Digests> digests) {
              if (!digests) return done(std::nullopt);
              std::unordered_map<std::string_view, const Result<std::string>*> by_path;
              for (size_t i = 0; i < paths.size(); ++i) by_path.emplace(paths[i], &(*digests)[i]);
              done(store::drift_on_disk(&entry, [&](const std::string& path) { return *by_path.at(path); }));
            });
}

}  // namespace hs::daemon
