// SHA-256 digests of canonical JSON: the argument hash that binds an approval to
// exactly one set of arguments, tool pins, and the audit hash chain.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::mcp {

// The canonical text of a JSON value: object keys sorted bytewise (UTF-8), no
// insignificant whitespace, strings as UTF-8 with only the escapes JSON requires,
// numbers as nlohmann/json prints them (integers exactly; doubles in the shortest
// form that reads back to the same value). docs/audit-format.md specifies it.
std::string canonical_json(const nlohmann::json& value);

// The raw 32-byte SHA-256 digest.
std::string sha256(std::string_view bytes);
// The raw 32-byte HMAC-SHA256 (RFC 2104) of `bytes` under `key`: what Sluice signs
// its own requestState with.
std::string hmac_sha256(std::string_view key, std::string_view bytes);
std::string to_hex(std::string_view bytes);
// Nullopt unless `hex` is an even number of hex digits (either case).
std::optional<std::string> from_hex(std::string_view hex);
// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view bytes);

// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view bytes);
// Nullopt unless `text` is canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sluice::mcp
