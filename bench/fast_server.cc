// sluice-bench-server: the upstream of the benchmarks. A minimal MCP server on stdio with
// one read-only tool, `lookup`, answered from memory, so that a benchmark measures the
// transport and whatever sits in it (Sluice), not the tool. Exits at the end of stdin.
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "mcp/message.h"

namespace sluice::bench {
namespace {

using mcp::json;
using mcp::Message;

constexpr std::string_view protocol_version = "2025-11-25";

// JSON-RPC's "Method not found"; an unknown tool is "Invalid params", as MCP specifies.
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;

// The server supports one protocol revision, so it answers with that one whatever the
// client asked for; a client that cannot speak it disconnects.
json initialize_result() {
  return {{"protocolVersion", protocol_version},
          {"capabilities", {{"tools", json::object()}}},
          {"serverInfo", {{"name", "sluice-bench-server"}, {"version", "1.0.0"}}}};
}

json tools_list_result() {
  json lookup = {
      {"name", "lookup"},
      {"description", "Returns the value of a key (every key has the value 42)."},
      {"inputSchema",
       {{"type", "object"},
        {"properties", {{"key", {{"type", "string"}, {"description", "the key to look up"}}}}},
        {"required", {"key"}}}},
      {"annotations", {{"readOnlyHint", true}}},
  };
  return {{"tools", json::array({std::move(lookup)})}};
}

json text_result(std::string text, bool is_error) {
  return {{"content", json::array({{{"type", "text"}, {"text", std::move(text)}}})}, {"isError", is_error}};
}

Message call_tool(const Message& request) {
  const auto& params = request.params();
  const auto name = params.find("name");
  if (name == params.end() || *name != "lookup") {
    return Message::error(request.id(), invalid_params, "unknown tool; this server has only \"lookup\"");
  }
  const auto arguments = params.find("arguments");
  if (arguments == params.end() || !arguments->contains("key") || !(*arguments)["key"].is_string()) {
    // Bad arguments are a tool execution error, which the model can see and correct.
    return Message::result(request.id(), text_result("lookup needs a string argument \"key\"", true));
  }
  return Message::result(request.id(),
                         text_result("value of " + (*arguments)["key"].get<std::string>() + ": 42", false));
}

// The response to one incoming frame; nothing for notifications and responses.
std::optional<Message> answer(mcp::Parsed parsed) {
  if (const auto* malformed = std::get_if<mcp::Malformed>(&parsed)) return mcp::error_response(*malformed);
  if (std::holds_alternative<mcp::Batch>(parsed)) {
    return Message::error(nullptr, mcp::Error::invalid_request,
                          "batches were removed from MCP in 2025-06-18");
  }
  const auto& message = std::get<Message>(parsed);
  if (!message.is_request()) return std::nullopt;

  const auto method = message.method();
  if (method == "initialize") return Message::result(message.id(), initialize_result());
  if (method == "ping") return Message::result(message.id(), json::object());
  if (method == "tools/list") return Message::result(message.id(), tools_list_result());
  if (method == "tools/call") return call_tool(message);
  return Message::error(message.id(), method_not_found, "Method not found: " + std::string(method));
}

// Answers line by line until stdin ends, one flush per response: the client is waiting for it.
void serve(std::istream& in, std::ostream& out) {
  const mcp::ParseLimits limits;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (auto response = answer(mcp::parse_frame(std::move(line), limits))) {
      out << response->wire() << '\n' << std::flush;
    }
  }
}

}  // namespace
}  // namespace sluice::bench

int main() {
  std::ios::sync_with_stdio(false);
  try {
    sluice::bench::serve(std::cin, std::cout);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sluice-bench-server: " << e.what() << '\n';
    return 1;
  }
}
