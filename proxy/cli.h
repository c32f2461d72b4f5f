// The `sluice` command line: global options, subcommands and their help.
#pragma once

namespace sluice::proxy {

// Parses the arguments, runs the subcommand, and returns the process exit code:
// 0 success, 1 failure, 2 a usage error (the message says what to type instead).
int run_cli(int argc, char** argv);

}  // namespace sluice::proxy
