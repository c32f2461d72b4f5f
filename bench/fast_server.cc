// sluice-bench-server: the upstream of the benchmarks. A minimal MCP server on stdio with
// one read-only tool, `lookup`, answered from memory, so that a benchmark measures the
// transport and whatever sits in it (Sluice), not the tool. Exits at the end of stdin.
// `--listen PORT` serves the same answers over Streamable HTTP on 127.0.0.1 instead (one
// blocking thread per connection, JSON answers, no SSE), the direct baseline of the HTTP
// benchmark: what the driver's own HTTP costs, with nothing in between.
// Dual-era, as real servers are: a request that is 2026-07-28 by itself (`server/discover`,
// or `_meta` claiming the version) is answered in that era, each on its own (a modern
// request carries everything the server needs), with `resultType` on every result; over
// HTTP such a POST is stateless (no Mcp-Session-Id). Its headers are not checked: the
// direct baseline measures transport, not validation.
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "bench/blocking_http.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"

namespace sluice::bench {
namespace {

using mcp::json;
using mcp::Message;
using mcp::ProtocolEra;

constexpr std::string_view protocol_version = "2025-11-25";
constexpr std::string_view modern_protocol_version = "2026-07-28";

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

json discover_result() {
  return {{"supportedVersions", json::array({modern_protocol_version})},
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

Message call_tool(const Message& request, ProtocolEra era) {
  const auto& params = request.params();
  const auto name = params.find("name");
  if (name == params.end() || *name != "lookup") {
    return Message::error(request.id(), invalid_params, "unknown tool; this server has only \"lookup\"");
  }
  const auto arguments = params.find("arguments");
  if (arguments == params.end() || !arguments->contains("key") || !(*arguments)["key"].is_string()) {
    // Bad arguments are a tool execution error, which the model can see and correct.
    return mcp::own_result(era, request.id(), text_result("lookup needs a string argument \"key\"", true));
  }
  return mcp::own_result(era, request.id(),
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
  const auto era = mcp::era_of_opening(message);
  if (method == "server/discover") return mcp::own_result(era, message.id(), discover_result());
  if (method == "initialize") return Message::result(message.id(), initialize_result());
  if (method == "ping") return mcp::own_result(era, message.id(), json::object());
  if (method == "tools/list") return mcp::own_result(era, message.id(), tools_list_result());
  if (method == "tools/call") return call_tool(message, era);
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

// Over HTTP a request gets its answer as JSON, a notification or response 202. Every
// session shares the one server state (there is none).
bool answer_http(HttpRequest& request, HttpResponse& response) {
  const mcp::ParseLimits limits;
  auto parsed = mcp::parse_frame(std::move(request.body()), limits);
  const auto* message = std::get_if<Message>(&parsed);
  if (message == nullptr || mcp::era_of_opening(*message) != ProtocolEra::modern) {
    response.set("Mcp-Session-Id", "bench");
  }
  if (auto answered = answer(std::move(parsed))) answer_json(response, answered->wire());
  return true;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    if (argc == 3 && std::string_view(argv[1]) == "--listen") {
      sluice::bench::serve_blocking_http(static_cast<unsigned short>(std::stoi(argv[2])), sluice::bench::answer_http);
    }
    sluice::bench::serve(std::cin, std::cout);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sluice-bench-server: " << e.what() << '\n';
    return 1;
  }
}
