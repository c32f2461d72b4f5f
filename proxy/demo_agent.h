// The scripted on-call agent of `sluice demo --agent`: an MCP client (no model) that
// works the demo cluster's checkout incident through Sluice, the way an agent would,
// and prints every step with what Sluice decided.
#pragma once

#include <ostream>
#include <string>

#include "mcp/asio.h"

namespace sluice::proxy {

struct DemoAgentOptions {
  std::string mcp_url;   // Sluice's Streamable HTTP endpoint
  std::string token;     // the bearer token that names the agent there
  std::string ui_url;    // where the held call is approved, for the printed hint
  std::string approver;  // who may approve it there
  std::string audit_db;  // where `sluice approvals` finds it
};

// Runs the script once. Returns when it is done or Sluice ended the session; never
// throws (a failure is printed as the agent's last line).
asio::awaitable<void> run_demo_agent(DemoAgentOptions options, std::ostream& out);

}  // namespace sluice::proxy
