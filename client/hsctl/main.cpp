// hsctl: see client/hsctl/app.hpp and `hsctl --help`.
#include "client/hsctl/app.hpp"

int main(int argc, char** argv) { return hsctl::run(argc, argv); }
