// The one vocabulary for what can go wrong on Sluice's message path, and the one
// place it is mapped to JSON-RPC error codes that peers see.
#pragma once

#include <string_view>

namespace sluice::mcp {

enum class Error {
  parse_error,         // not JSON, or not UTF-8
  invalid_request,     // JSON, but not a JSON-RPC 2.0 message
  message_too_large,   // longer than the configured limit
  nesting_too_deep,    // deeper than the configured limit
  duplicate_id,        // reuses the id of a request still awaiting its response
  reserved_id,         // an id of the form Sluice uses for its own requests
  upstream_exited,     // the upstream server went away with the request in flight
  audit_unavailable,   // Sluice could not record what it must record before acting
  upstream_timeout,    // the upstream did not answer a forwarded request in time
  upstream_message_too_large,  // the upstream's answer was longer than the limit and was dropped
  shutting_down,       // Sluice is stopping and will not answer the request
};

// JSON-RPC codes. Errors of the message itself use the standard codes; errors that
// are Sluice's own sit outside -32768..-32000, which the MCP specification reserves.
int jsonrpc_code(Error error);

// A short, stable description that names the problem for a human and a model.
std::string_view describe(Error error);

}  // namespace sluice::mcp
