// Server-sent events (the text/event-stream format of the HTML standard), as MCP's
// Streamable HTTP transport uses them: one JSON-RPC message per event.
#pragma once

#include <string>
#include <string_view>

namespace sluice::mcp {

// One event: an optional `id:` line, one `data:` line per line of `data`, and the
// blank line that ends it. An empty `data` gives the priming event MCP 2025-11-25
// asks for (an id to resume from, nothing to deliver).
std::string encode_sse_event(std::string_view id, std::string_view data);

// A comment line: ignored by clients, it keeps idle connections and proxies open.
std::string_view sse_keepalive();

}  // namespace sluice::mcp
