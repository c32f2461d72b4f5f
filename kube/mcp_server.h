// A small MCP server over one Transport (stdio): initialize, ping, tools/list and
// tools/call, each call in its own coroutine so a slow API request never holds up a
// ping. Dual-era: a connection opened with `initialize` is served in the 2025 revisions,
// one opened with `server/discover` or a request that claims 2026-07-28 in its `_meta`
// is served in that revision (every result with resultType and serverInfo, no ping).
// Built on mcp/'s message model and framing; knows nothing of Kubernetes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcp/asio.h"
#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"
#include "mcp/transport.h"

namespace sluice::kube {

struct Tool {
  nlohmann::json definition;  // name, description, inputSchema, annotations
  // Returns a CallToolResult. May throw: the text of the exception becomes an
  // isError result, never a broken session.
  std::function<asio::awaitable<nlohmann::json>(const nlohmann::json& arguments)> call;
};

struct ServerIdentity {
  std::string name;
  std::string version;
  std::string instructions;
};

class McpServer {
 public:
  McpServer(const asio::any_io_executor& executor, mcp::Transport& transport, ServerIdentity identity,
            std::vector<Tool> tools);

  // Serves until the client closes its side, then waits for calls in flight.
  asio::awaitable<void> run();

 private:
  void handle(const mcp::Message& message);
  asio::awaitable<void> call_tool(nlohmann::json id, nlohmann::json params);
  void reply(const mcp::Message& message);
  // A result, shaped for the connection's era.
  void reply_result(const nlohmann::json& id, nlohmann::json result);
  // A modern request without a supported version in its envelope is refused.
  bool refuse_modern_envelope(const mcp::Message& message);

  asio::any_io_executor executor_;
  mcp::Transport& transport_;
  ServerIdentity identity_;
  std::vector<Tool> tools_;
  mcp::ProtocolEra era_ = mcp::ProtocolEra::undetermined;
  std::size_t calls_in_flight_ = 0;
  mcp::AsyncEvent calls_done_;
};

}  // namespace sluice::kube
