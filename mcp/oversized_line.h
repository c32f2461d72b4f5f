// What can still be read of a line too long to keep (the framer keeps only its first
// and last bytes): whether it was a response, and to which request. A server that
// answers with more than the limit then gets its request answered with an error at
// once, instead of leaving the client waiting for an answer that was dropped.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "mcp/line_framer.h"

namespace sluice::mcp {

// The id of the JSON-RPC response an oversized frame held, when its ends show it: a
// top-level object whose members before the bulk are only "jsonrpc", "id", "result"
// or "error" (and one of the last two), with the id among them or as the object's
// last member ("...,"id":7}", as the TypeScript SDK writes). nullopt otherwise (a
// request or notification, or ends that do not tell).
std::optional<nlohmann::json> response_id_of_oversized(const Frame& frame);

}  // namespace sluice::mcp
