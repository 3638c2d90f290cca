// harnesssyncd: see daemon/run.hpp and `harnesssyncd --help`.
#include "daemon/options.hpp"
#include "daemon/run.hpp"

int main(int argc, char** argv) {
  auto parsed = hs::daemon::parse_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  return hs::daemon::run(std::get<hs::daemon::Options>(parsed));
}
