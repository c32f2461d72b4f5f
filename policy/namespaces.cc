#include "policy/namespaces.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace sluice::policy {
namespace {

// Manifests larger than this are not parsed for namespaces: a call carrying one is
// still decided on everything else, and kube servers refuse such sizes anyway.
constexpr std::size_t max_manifest_bytes = 1 << 20;

// What a manifest that names a namespace but cannot be read counts as: a namespace
// no allowlist contains, so that an unreadable manifest fails closed.
constexpr const char* unreadable_manifest = "<unreadable manifest>";

void add(std::vector<std::string>& found, std::string name) {
  if (std::find(found.begin(), found.end(), name) == found.end()) found.push_back(std::move(name));
}

// A namespace value that is not a string ("namespace": ["prod"]) still names
// something: it is kept as its JSON text, which no allowlist pattern matches.
void add_value(std::vector<std::string>& found, const nlohmann::json& value) {
  add(found, value.is_string() ? value.get<std::string>() : value.dump());
}

void from_document(const YAML::Node& document, std::vector<std::string>& found, int depth = 0) {
  if (!document.IsMap() || depth > 8) return;
  if (const auto metadata = document["metadata"]; metadata && metadata.IsMap()) {
    if (const auto ns = metadata["namespace"]; ns) add(found, ns.IsScalar() ? ns.Scalar() : unreadable_manifest);
  }
  // kind: List (and every *List) carries its objects in items.
  if (const auto items = document["items"]; items && items.IsSequence()) {
    for (const auto& item : items) from_document(item, found, depth + 1);
  }
}

void from_manifest_object(const nlohmann::json& value, const NamespacePolicy& policy, std::vector<std::string>& found) {
  for (const auto& path : policy.arguments) {
    if (!path.is_pointer()) continue;
    if (const auto* ns = path.find(value); ns != nullptr && !ns->is_null()) add_value(found, *ns);
  }
  if (const auto items = value.find("items"); items != value.end() && items->is_array()) {
    for (const auto& item : *items) {
      if (item.is_object()) from_manifest_object(item, policy, found);
    }
  }
}

void from_manifest_text(const std::string& text, std::vector<std::string>& found) {
  // Cheap test first: parsing every string argument as YAML would dominate the
  // cost of a decision. A key can only spell "namespace" without the word in an
  // escape ("n\x61mespace", "namesp\u0061ce"), and every escape has a backslash.
  if (text.size() > max_manifest_bytes) return;
  if (text.find("namespace") == std::string::npos && text.find('\\') == std::string::npos) return;
  try {
    for (const auto& document : YAML::LoadAll(text)) from_document(document, found);
  } catch (const YAML::Exception&) {
    // Prose that mentions the word is not YAML often enough to matter; a manifest
    // broken on purpose must not hide its namespace.
    if (text.find("metadata") != std::string::npos) add(found, unreadable_manifest);
  }
}

}  // namespace

std::vector<std::string> namespaces_named(const nlohmann::json& arguments, const NamespacePolicy& policy) {
  std::vector<std::string> found;
  if (!arguments.is_object()) return found;
  for (const auto& flag : policy.all_namespaces_flags) {
    // Only a literal true spans namespaces, as the server reads it; anything else that is
    // not false is refused by the server's schema check, so it cannot widen the call.
    if (const auto it = arguments.find(flag); it != arguments.end() && *it == true) add(found, every_namespace);
  }
  for (const auto& path : policy.arguments) {
    if (const auto* ns = path.find(arguments); ns != nullptr && !ns->is_null()) add_value(found, *ns);
  }
  for (const auto& [key, value] : arguments.items()) {
    if (value.is_object()) {
      from_manifest_object(value, policy, found);
    } else if (value.is_string()) {
      from_manifest_text(value.get_ref<const std::string&>(), found);
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (item.is_object()) from_manifest_object(item, policy, found);
        if (item.is_string()) from_manifest_text(item.get_ref<const std::string&>(), found);
      }
    }
  }
  return found;
}

}  // namespace sluice::policy
