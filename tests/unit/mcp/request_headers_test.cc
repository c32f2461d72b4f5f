#include "mcp/request_headers.h"

#include <catch2/catch.hpp>

#include "mcp/protocol_era.h"

namespace sluice::mcp {
namespace {

const json modern_request_meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                          {"io.modelcontextprotocol/clientCapabilities", json::object()}};

ToolHeaderMap logs_tool() {
  ToolHeaderMap tools;
  tools.learn({{"tools",
                {{{"name", "pods_logs"},
                  {"inputSchema",
                   {{"type", "object"},
                    {"properties",
                     {{"namespace", {{"type", "string"}, {"x-mcp-header", "Namespace"}}},
                      {"follow", {{"type", "boolean"}, {"x-mcp-header", "Follow"}}},
                      {"tail", {{"type", "integer"}, {"x-mcp-header", "Tail"}}},
                      {"name", {{"type", "string"}}}}}}}}}}});
  return tools;
}

std::vector<std::pair<std::string, std::string>> pairs(const std::vector<MirroredHeader>& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& header : headers) out.emplace_back(header.name, header.text);
  return out;
}

TEST_CASE("a header value is plain printable ASCII, else the base64 sentinel") {
  CHECK(encode_header_value("prod-eu") == "prod-eu");
  CHECK(encode_header_value("") == "");
  CHECK(encode_header_value("prod-\xc3\xbc") == "=?base64?cHJvZC3DvA==?=");
  CHECK(encode_header_value(" padded") == "=?base64?IHBhZGRlZA==?=");
  CHECK(encode_header_value("line\nbreak") == "=?base64?bGluZQpicmVhaw==?=");
  SECTION("a plain value that looks like the sentinel is encoded, so that it reads back as itself") {
    const auto encoded = encode_header_value("=?base64?aGk=?=");
    CHECK(encoded != "=?base64?aGk=?=");
    CHECK(decode_header_value(encoded) == "=?base64?aGk=?=");
  }
  CHECK(decode_header_value("=?base64?cHJvZC3DvA==?=") == "prod-\xc3\xbc");
  CHECK(decode_header_value("plain") == "plain");
  CHECK_FALSE(decode_header_value("=?base64?not base64!?=").has_value());
}

TEST_CASE("a modern request's body calls for its headers, in the specification's order") {
  const auto tools = logs_tool();
  const auto call = Message::request(
      1, "tools/call",
      {{"name", "pods_logs"},
       {"arguments", {{"namespace", "prod-eu"}, {"follow", true}, {"tail", 20}, {"name", "web-1"}}},
       {"_meta", modern_request_meta}});
  CHECK(pairs(mirrored_headers(call, tools)) ==
        std::vector<std::pair<std::string, std::string>>{{"MCP-Protocol-Version", "2026-07-28"},
                                                         {"Mcp-Method", "tools/call"},
                                                         {"Mcp-Name", "pods_logs"},
                                                         {"Mcp-Param-Follow", "true"},
                                                         {"Mcp-Param-Namespace", "prod-eu"},
                                                         {"Mcp-Param-Tail", "20"}});
  SECTION("a null or absent annotated argument has no header") {
    const auto sparse = Message::request(
        1, "tools/call", {{"name", "pods_logs"}, {"arguments", {{"namespace", nullptr}}}, {"_meta", modern_request_meta}});
    CHECK(pairs(mirrored_headers(sparse, tools)).size() == 3);
  }
  SECTION("resources/read names its uri, prompts/get its name; other methods name nothing") {
    const auto read = Message::request(2, "resources/read", {{"uri", "file:///a"}, {"_meta", modern_request_meta}});
    CHECK(pairs(mirrored_headers(read, tools)).back() == std::pair<std::string, std::string>{"Mcp-Name", "file:///a"});
    const auto list = Message::request(3, "tools/list", {{"_meta", modern_request_meta}});
    CHECK(pairs(mirrored_headers(list, tools)).size() == 2);
  }
  SECTION("tasks/get, tasks/update and tasks/cancel name their task; tasks/list nothing") {
    for (const auto* method : {"tasks/get", "tasks/update", "tasks/cancel"}) {
      const auto task = Message::request(5, method, {{"taskId", "t-1"}, {"_meta", modern_request_meta}});
      CHECK(pairs(mirrored_headers(task, tools)).back() == std::pair<std::string, std::string>{"Mcp-Name", "t-1"});
    }
    const auto list = Message::request(6, "tasks/list", {{"_meta", modern_request_meta}});
    CHECK(pairs(mirrored_headers(list, tools)).size() == 2);
  }
  SECTION("a tool no list described has only the standard headers") {
    const auto other = Message::request(4, "tools/call", {{"name", "x"}, {"arguments", {{"namespace", "a"}}}});
    CHECK(pairs(mirrored_headers(other, tools)) ==
          std::vector<std::pair<std::string, std::string>>{{"Mcp-Method", "tools/call"}, {"Mcp-Name", "x"}});
    CHECK(tools.bindings("x") == nullptr);
    CHECK(tools.bindings("pods_logs")->size() == 3);
  }
}

}  // namespace
}  // namespace sluice::mcp
