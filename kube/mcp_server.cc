#include "kube/mcp_server.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace sluice::kube {
namespace {

using json = nlohmann::json;

// Newest first: an unknown requested version is answered with the newest.
const std::vector<std::string> kProtocolVersions = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
const std::string kModernVersion = "2026-07-28";

constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

}  // namespace

McpServer::McpServer(const asio::any_io_executor& executor, mcp::Transport& transport, ServerIdentity identity,
                     std::vector<Tool> tools)
    : executor_(executor),
      transport_(transport),
      identity_(std::move(identity)),
      tools_(std::move(tools)),
      calls_done_(executor) {}

void McpServer::reply(const mcp::Message& message) { transport_.send(message.wire()); }

void McpServer::reply_result(const json& id, json result) {
  if (era_ == mcp::ProtocolEra::modern) {
    result["_meta"]["io.modelcontextprotocol/serverInfo"] = {{"name", identity_.name}, {"version", identity_.version}};
  }
  reply(mcp::own_result(era_, id, std::move(result)));
}

bool McpServer::refuse_modern_envelope(const mcp::Message& message) {
  const auto envelope = mcp::modern_envelope(message);
  const auto version = envelope.find(mcp::protocol_version_meta_key);
  if (message.method() == "server/discover" && version == envelope.end()) return false;
  if (version == envelope.end() || !envelope.contains(mcp::client_capabilities_meta_key)) {
    reply(mcp::Message::error(message.id(), kInvalidParams,
                              "Invalid params: a 2026-07-28 request carries io.modelcontextprotocol/protocolVersion "
                              "and io.modelcontextprotocol/clientCapabilities in its _meta"));
    return true;
  }
  if (*version != kModernVersion) {
    reply(mcp::Message::error(message.id(), mcp::unsupported_protocol_version, "Unsupported protocol version",
                              {{"supported", json::array({kModernVersion})}, {"requested", *version}}));
    return true;
  }
  return false;
}

asio::awaitable<void> McpServer::run() {
  const mcp::ParseLimits limits;
  for (;;) {
    auto frame = co_await transport_.receive();
    if (!frame) break;
    if (frame->kind == mcp::Frame::Kind::oversized) {
      reply(mcp::Message::error(nullptr, mcp::Error::message_too_large));
      continue;
    }
    auto parsed = mcp::parse_frame(std::move(frame->text), limits);
    if (auto* malformed = std::get_if<mcp::Malformed>(&parsed)) {
      reply(mcp::error_response(*malformed));
    } else if (auto* message = std::get_if<mcp::Message>(&parsed)) {
      handle(*message);
    } else {
      // Batches left MCP in 2025-06-18; a server may refuse them.
      reply(mcp::Message::error(nullptr, mcp::Error::invalid_request, "batches are not supported"));
    }
  }
  while (calls_in_flight_ > 0) co_await calls_done_.wait();
  transport_.close_send();
}

void McpServer::handle(const mcp::Message& message) {
  if (!message.is_request()) return;  // notifications and responses need no answer
  const auto method = message.method();
  const json& id = message.id();
  if (era_ == mcp::ProtocolEra::undetermined) era_ = mcp::era_of_opening(message);
  if (era_ == mcp::ProtocolEra::modern) {
    if (refuse_modern_envelope(message)) return;
    if (method == "initialize" || method == "ping") {
      reply(mcp::Message::error(id, method == "ping" ? kMethodNotFound : kInvalidRequest,
                                "this connection speaks " + kModernVersion + ", which has no " + std::string(method)));
      return;
    }
  }
  if (method == "server/discover") {
    json result = {{"supportedVersions", json::array({kModernVersion})},
                   {"capabilities", {{"tools", json::object()}}},
                   {"ttlMs", 0},
                   {"cacheScope", "private"}};
    if (!identity_.instructions.empty()) result["instructions"] = identity_.instructions;
    // A 2025-era connection does not know the method: it is not in its revisions.
    if (era_ != mcp::ProtocolEra::modern) {
      reply(mcp::Message::error(id, kMethodNotFound, "Method not found: server/discover"));
    } else {
      reply_result(id, std::move(result));
    }
  } else if (method == "initialize") {
    std::string version = kProtocolVersions.front();
    const auto& params = message.params();
    if (params.is_object() && params.contains("protocolVersion") && params["protocolVersion"].is_string()) {
      const auto requested = params["protocolVersion"].get<std::string>();
      if (std::find(kProtocolVersions.begin(), kProtocolVersions.end(), requested) != kProtocolVersions.end()) {
        version = requested;
      }
    }
    json result = {{"protocolVersion", version},
                   {"capabilities", {{"tools", {{"listChanged", false}}}}},
                   {"serverInfo", {{"name", identity_.name}, {"version", identity_.version}}}};
    if (!identity_.instructions.empty()) result["instructions"] = identity_.instructions;
    reply(mcp::Message::result(id, std::move(result)));
  } else if (method == "ping") {
    reply(mcp::Message::result(id, json::object()));
  } else if (method == "tools/list") {
    json tools = json::array();
    for (const auto& tool : tools_) tools.push_back(tool.definition);
    json result = {{"tools", std::move(tools)}};
    if (era_ == mcp::ProtocolEra::modern) {
      // The tools are the same for everyone, but Kubernetes access is per kubeconfig.
      result["ttlMs"] = 0;
      result["cacheScope"] = "private";
    }
    reply_result(id, std::move(result));
  } else if (method == "tools/call") {
    ++calls_in_flight_;
    asio::co_spawn(executor_, call_tool(id, message.params()), [this, id](const std::exception_ptr& error) {
      if (error) {
        // call_tool catches what tools throw; this is a bug in the server itself.
        reply(mcp::Message::error(id, -32603, "internal error in sluice-kube"));
      }
      --calls_in_flight_;
      calls_done_.notify_all();
    });
  } else {
    reply(mcp::Message::error(id, kMethodNotFound, "Method not found: " + std::string(method)));
  }
}

asio::awaitable<void> McpServer::call_tool(json id, json params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    reply(mcp::Message::error(id, kInvalidParams, "tools/call needs params.name, a string"));
    co_return;
  }
  const std::string name = params["name"];
  const auto tool = std::find_if(tools_.begin(), tools_.end(),
                                 [&](const Tool& candidate) { return candidate.definition["name"] == name; });
  if (tool == tools_.end()) {
    reply(mcp::Message::error(id, kInvalidParams, "Unknown tool: " + name));
    co_return;
  }
  const json arguments = params.value("arguments", json::object());
  json result;
  std::string failure;
  try {
    if (!arguments.is_object()) throw std::invalid_argument("arguments must be an object");
    result = co_await tool->call(arguments);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (!failure.empty()) {
    spdlog::info("{}: {}", name, failure);
    result = {{"content", {{{"type", "text"}, {"text", failure}}}}, {"isError", true}};
  }
  reply_result(id, std::move(result));
}

}  // namespace sluice::kube
