// Records a target through the installed client library and prints what
// the daemon reports. Exits 0 only if every step worked.
#include <harnesssync/client.hpp>
#include <iostream>

int main(int argc, char** argv) {
  harnesssync::ClientOptions opts;
  if (argc > 1) opts.socket_path = argv[1];
  if (argc > 2) opts.state_dir = argv[2];
  auto client = harnesssync::Client::connect(opts);
  if (!client) {
    std::cerr << "connect: " << client.error().message << "\n";
    return 1;
  }
  harnesssync::RecordRequest r;
  r.target = "consumer";
  r.file_hashes = {{"/nonexistent/file", "9f86d081884c7d65"}};
  r.synced = 1;
  auto entry = client->record(r);
  if (!entry) {
    std::cerr << "record: " << entry.error().message << "\n";
    return 1;
  }
  auto drift = client->drift("consumer", std::nullopt);
  if (!drift) {
    std::cerr << "drift: " << drift.error().message << "\n";
    return 1;
  }
  std::cout << "status=" << entry->at("status").as_string().c_str() << " removed=" << drift->removed.size()
            << " started_daemon=" << client->started_daemon() << "\n";
  return 0;
}
