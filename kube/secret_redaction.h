// Secret values never leave sluice-kube: every object that is a Secret, wherever it
// sits in an API response (a get, a list's items, a Table row, an apply result),
// has the values of `data` and `stringData` and its last-applied configuration
// replaced before anything is formatted or returned.
#pragma once

#include <nlohmann/json.hpp>

namespace sluice::kube {

// What a redacted value reads as; the size stays, so "empty" and "set" can be told apart.
inline constexpr const char* kRedactedPrefix = "[redacted: ";

// Redacts every Secret in `document`. `secrets_resource` is true when the response
// is known to be about the core `secrets` resource, whose list items carry no kind.
void redact_secrets(nlohmann::json& document, bool secrets_resource);

}  // namespace sluice::kube
