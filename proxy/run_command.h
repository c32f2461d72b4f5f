// `sluice run`: Sluice between the client on its own stdin/stdout and an upstream.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mcp/message.h"
#include "policy/config.h"

namespace sluice::proxy {

struct RunOptions {
  policy::Config config;  // upstream.command is the command to start
  mcp::ParseLimits limits;
  // How long the upstream gets to exit after its stdin closes, and again after SIGTERM.
  std::chrono::milliseconds shutdown_grace{5000};
  // The caller, for the audit log and four eyes; empty: the local user.
  std::string principal;
};

// Returns the process exit code: 0 when the client ended the session, 1 when the
// upstream ended it. Throws when the upstream cannot be started.
int run_proxy(const RunOptions& options);

}  // namespace sluice::proxy
