// hsctl's entry: parse the command line (CLI11), run the chosen command,
// return its exit code.
#pragma once

namespace hsctl {

int run(int argc, char** argv);

}  // namespace hsctl
