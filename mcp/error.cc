#include "mcp/error.h"

namespace sluice::mcp {

int jsonrpc_code(Error error) {
  switch (error) {
    case Error::parse_error: return -32700;
    case Error::invalid_request:
    case Error::message_too_large:
    case Error::nesting_too_deep:
    case Error::duplicate_id:
    case Error::reserved_id: return -32600;
    case Error::upstream_exited: return -31001;
    case Error::audit_unavailable: return -31002;
    case Error::upstream_timeout: return -31003;
    case Error::upstream_message_too_large: return -31004;
    case Error::shutting_down: return -31005;
  }
  return -32603;
}

std::string_view describe(Error error) {
  switch (error) {
    case Error::parse_error: return "Parse error";
    case Error::invalid_request: return "Invalid Request";
    case Error::message_too_large: return "Invalid Request: message too large";
    case Error::nesting_too_deep: return "Invalid Request: JSON nested too deeply";
    case Error::duplicate_id: return "Invalid Request: id already in use by a request in flight";
    case Error::reserved_id: return "Invalid Request: this session reserves string ids starting with";
    case Error::upstream_exited: return "Upstream MCP server exited";
    case Error::audit_unavailable: return "Sluice could not write its audit log, so the call was not forwarded";
    case Error::upstream_timeout: return "Upstream MCP server did not answer in time";
    case Error::upstream_message_too_large: return "Upstream MCP server's answer was too large";
    case Error::shutting_down: return "Sluice is shutting down";
  }
  return "Internal error";
}

}  // namespace sluice::mcp
