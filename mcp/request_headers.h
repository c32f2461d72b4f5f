// The 2026-07-28 Streamable HTTP headers that mirror a request's body, so that a load
// balancer or gateway can route without reading it: MCP-Protocol-Version (the `_meta`
// version), Mcp-Method, Mcp-Name (the tool, prompt or resource), and one
// Mcp-Param-{X} per tool argument whose inputSchema property says "x-mcp-header": "X".
// A client sets them from the body; a server checks them against it (a mismatch is
// HTTP 400 with -32020). Sluice decides on the body either way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcp/message.h"

namespace sluice::mcp {

inline constexpr std::string_view protocol_version_header = "MCP-Protocol-Version";
inline constexpr std::string_view method_header = "Mcp-Method";
inline constexpr std::string_view name_header = "Mcp-Name";
inline constexpr std::string_view param_header_prefix = "Mcp-Param-";

// The protocol revisions that use these headers.
inline constexpr std::string_view modern_protocol_version = "2026-07-28";

// A header value for `text`: as it is when it is printable ASCII without surrounding
// whitespace, else "=?base64?<UTF-8 as base64>?=".
std::string encode_header_value(std::string_view text);
// What a header value says: the decoded text of a "=?base64?…?=" value, the value
// itself otherwise; nullopt for a sentinel that is not valid base64.
std::optional<std::string> decode_header_value(std::string_view value);

// The x-mcp-header annotations of an upstream's tools, learned from the tools/list
// results that pass by: tool name -> (argument, header suffix X) pairs.
class ToolHeaderMap {
 public:
  struct Binding {
    std::string argument;
    std::string header;  // X of Mcp-Param-X
  };

  // Takes the tools of one tools/list result (a page of them); other results are ignored.
  void learn(const json& result);
  // The bindings of `tool`, or nullptr when no tools/list has described it.
  [[nodiscard]] const std::vector<Binding>* bindings(std::string_view tool) const;

 private:
  // An upstream has as many tools as it likes; Sluice keeps this many schemas.
  static constexpr std::size_t max_tools = 10000;
  std::unordered_map<std::string, std::vector<Binding>> tools_;
};

// One header a modern request's body calls for: its name, and the text it must carry
// (before encode_header_value).
struct MirroredHeader {
  std::string name;
  std::string text;
};

// The headers a modern request's body calls for, in the order the specification names
// them: the version (when `_meta` claims one), the method, the name (tools/call,
// prompts/get, resources/read; the task id of tasks/get, tasks/update, tasks/cancel) and the annotated arguments the call carries (strings
// as they are, integers and booleans as JSON prints them; null or absent: no header).
std::vector<MirroredHeader> mirrored_headers(const Message& request, const ToolHeaderMap& tools);

}  // namespace sluice::mcp
