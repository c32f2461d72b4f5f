// Finds the Kubernetes namespaces a tool call names, wherever the configuration says
// to look, and inside manifests passed as arguments (objects, or YAML/JSON text).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/config.h"

namespace sluice::policy {

// What a call that acts on every namespace names: only an allowlist pattern that
// admits any name ("*") admits it.
inline constexpr const char* every_namespace = "*";

// Every namespace named, in the order found, without duplicates.
std::vector<std::string> namespaces_named(const nlohmann::json& arguments, const NamespacePolicy& policy);

}  // namespace sluice::policy
