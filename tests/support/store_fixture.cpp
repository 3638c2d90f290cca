#include "tests/support/store_fixture.hpp"

#include <stdexcept>

namespace hs::test {

std::unique_ptr<daemon::store::StateStore> StoreFixture::open() {
  auto s = daemon::store::StateStore::open(options(), &warnings);
  if (!s) throw std::runtime_error("open store: " + s.error().message());
  return std::move(*s);
}

boost::json::value StoreFixture::disk() const { return boost::json::parse(slurp(state_path())); }

daemon::store::RecordArgs record_args(std::string target, boost::json::object hashes, int64_t synced,
                              int64_t skipped, int64_t failed, std::optional<std::string> account) {
  daemon::store::RecordArgs a;
  a.ref = {std::move(target), std::move(account)};
  a.scope = "all";
  a.file_hashes = std::move(hashes);
  a.synced = synced;
  a.skipped = skipped;
  a.failed = failed;
  return a;
}

}  // namespace hs::test
