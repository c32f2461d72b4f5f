// Checks a tools/call's arguments against the top level of the tool's input schema,
// before any decision: a call the server would reject anyway must not be audited as
// approved, held for a human, or dry-run as if it were meaningful.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice::policy {

// What is wrong, or nullopt when the top level fits: required properties present,
// no unknown property where additionalProperties is false, declared types and enums
// respected. Deeper levels are the server's business.
std::optional<std::string> check_arguments(const nlohmann::json& input_schema, const nlohmann::json& arguments);

}  // namespace sluice::policy
