// `sluice run`: Sluice between the client on its own stdin/stdout and an upstream.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "mcp/asio.h"
#include "mcp/message.h"
#include "policy/config.h"

namespace sluice::proxy {

// Where a Sluice serving HTTP can be reached, once it is.
struct ServingAt {
  std::string mcp_url;  // http://127.0.0.1:8765/mcp
  std::string ui_url;   // empty without a web UI
};

struct RunOptions {
  policy::Config config;  // upstream.command is the command to start
  mcp::ParseLimits limits;
  // How long the upstream gets to exit after its stdin closes, and again after SIGTERM.
  std::chrono::milliseconds shutdown_grace{5000};
  // How long the event loop keeps polling after work before it sleeps; zero: it does
  // not busy-poll (proxy/event_loop.h).
  std::chrono::microseconds busy_poll{0};
  // The caller, for the audit log and four eyes; empty: the local user.
  std::string principal;
  // Called once, on the event loop, when the HTTP listener and the web UI accept
  // connections: `sluice demo` prints its banner and starts its agent there.
  std::function<void(asio::io_context&, const ServingAt&)> on_serving;
};

// Returns the process exit code: 0 when the client ended the session, 1 when the
// upstream ended it. Throws when the upstream cannot be started.
int run_proxy(const RunOptions& options);

}  // namespace sluice::proxy
