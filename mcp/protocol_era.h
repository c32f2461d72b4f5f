// MCP's two incompatible eras. The 2025 revisions (2024-11-05 through 2025-11-25)
// open a connection with `initialize`; 2026-07-28 ("modern") has no handshake: every
// request carries its protocol version and the client's capabilities in `_meta`,
// `server/discover` replaces the handshake, and every result carries `resultType`. A
// dual-era peer picks the era from a connection's opening, and so does Sluice.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "mcp/message.h"

namespace sluice::mcp {

enum class ProtocolEra {
  undetermined,  // nothing has opened the connection yet
  legacy,        // 2025-era: `initialize`, or a request that claims no version
  modern,        // 2026-07-28 and later
};

std::string_view to_string(ProtocolEra era);

// The request `_meta` key that makes a request modern.
inline constexpr std::string_view protocol_version_meta_key = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view client_capabilities_meta_key = "io.modelcontextprotocol/clientCapabilities";

// The errors 2026-07-28 gives the checks a server makes of a request before it runs it
// (on HTTP each is a 400): its headers do not mirror its body, it needs a capability the
// client did not declare, or its version is not one the server speaks.
inline constexpr int header_mismatch = -32020;
inline constexpr int missing_client_capability = -32021;
inline constexpr int unsupported_protocol_version = -32022;
// The `_meta` key of every message on a subscriptions/listen stream: the listen request's id.
inline constexpr std::string_view subscription_id_meta_key = "io.modelcontextprotocol/subscriptionId";

// The era a connection's first request selects: `server/discover`, or any request
// whose `_meta` carries the protocol version, is modern; `initialize`, and any other
// request (one that claims no version), is legacy, as dual-era servers read it.
// Notifications and responses select nothing.
ProtocolEra era_of_opening(const Message& message);

// The 2026-07-28 envelope of a request: its `_meta` entries under
// io.modelcontextprotocol/ (version, client info and capabilities, ...); empty for
// a legacy request.
json modern_envelope(const Message& request);

// A result Sluice makes itself, in the era of the connection it answers: a modern
// peer requires `resultType` on every result, a 2025 one has no such field.
Message own_result(ProtocolEra era, json id, json result);

}  // namespace sluice::mcp
