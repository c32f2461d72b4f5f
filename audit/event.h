// One audit event: what happened to one message, decision or state change. Its
// redacted, canonical JSON is what the hash chain covers (docs/audit-format.md).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice::audit {

struct AuditEvent {
  // decision | outcome | message | session | pin | tool_changed | checkpoint | seal | continue
  std::string kind;
  std::string session;
  std::string principal;
  std::string upstream;
  std::string direction;  // client->server | server->client
  std::string method;
  nlohmann::json id;      // the JSON-RPC id, null when none
  std::string tool;
  std::string tool_class;
  std::string decision;   // the action taken
  std::string policy_action;
  std::string rule;
  std::string reason;
  std::string approval_id;
  std::string arguments_hash;
  nlohmann::json arguments;  // already redacted
  // ok | tool_error | jsonrpc_error | upstream_gone | cancelled
  std::string outcome;
  std::int64_t result_size = -1;
  nlohmann::json summary;    // already redacted
  std::int64_t latency_us = -1;
  std::string detail;        // free text: a session's end, a pin's hash
  // What only some kinds carry: a checkpoint's signed note and key, a seal's
  // successor file, a continuation's predecessor (docs/audit-format.md).
  nlohmann::json data;
};

// The event's record with its sequence number and time, as the canonical JSON text
// (mcp::canonical_json) of an object whose empty fields are left out: what the log
// stores and hashes (docs/audit-format.md).
std::string record_text(const AuditEvent& event, std::int64_t seq, const std::string& time);

}  // namespace sluice::audit
