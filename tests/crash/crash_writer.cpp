// Test helper for crash consistency: records into the store at DIR forever,
// printing "i\n" to stdout after record i is durable. The test kills it
// with SIGKILL at random moments. Target t<i % 64> gets items_synced = i.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/store/state_store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR START\n", argv[0]);
    return 2;
  }
  hs::daemon::store::StoreOptions opts;
  opts.dir = argv[1];
  auto store = hs::daemon::store::StateStore::open(opts);
  if (!store) {
    std::fprintf(stderr, "crash_writer: %s\n", store.error().message().c_str());
    return 1;
  }
  for (long i = std::atol(argv[2]);; ++i) {
    hs::daemon::store::RecordArgs a;
    a.ref.target = "t" + std::to_string(i % 64);
    a.scope = "all";
    a.file_hashes["/f/" + std::to_string(i)] = std::string(64, 'a');
    a.synced = i;
    auto r = (*store)->record(a);
    if (!r) {
      std::fprintf(stderr, "crash_writer: %s\n", r.error().message().c_str());
      return 1;
    }
    // Unbuffered write: once these bytes are in the pipe, the parent counts
    // record i as acknowledged.
    std::string line = std::to_string(i) + "\n";
    if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  }
}
