// hsctl: see client/hsctl/app.hpp and `hsctl --help`.
#include <exception>
#include <iostream>

#include "client/hsctl/app.hpp"
#include "client/hsctl/context.hpp"

int main(int argc, char** argv) {
  // Commands read answers without trusting them; this is the last line of
  // defence for one they still misread: one line and exit 7, never an abort.
  try {
    return hsctl::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hsctl: unexpected answer or error: " << e.what() << "\n";
    return hsctl::exit_code::incompatible;
  }
}
