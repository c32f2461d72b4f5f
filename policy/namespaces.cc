#include "policy/namespaces.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace sluice::policy {
namespace {

// Manifests larger than this are not parsed for namespaces: a call carrying one is
// still decided on everything else, and kube servers refuse such sizes anyway.
constexpr std::size_t max_manifest_bytes = 1 << 20;

void add(std::vector<std::string>& found, std::string name) {
  if (std::find(found.begin(), found.end(), name) == found.end()) found.push_back(std::move(name));
}

void from_manifest_object(const nlohmann::json& value, const NamespacePolicy& policy, std::vector<std::string>& found) {
  for (const auto& path : policy.arguments) {
    if (!path.is_pointer()) continue;
    if (const auto* ns = path.find(value); ns != nullptr && ns->is_string()) add(found, ns->get<std::string>());
  }
}

void from_manifest_text(const std::string& text, std::vector<std::string>& found) {
  // Cheap test first: parsing every string argument as YAML would dominate the
  // cost of a decision. A key can only spell "namespace" without the word in an
  // escape ("n\x61mespace", "namesp\u0061ce"), and every escape has a backslash.
  if (text.size() > max_manifest_bytes) return;
  if (text.find("namespace") == std::string::npos && text.find('\\') == std::string::npos) return;
  try {
    for (const auto& document : YAML::LoadAll(text)) {
      if (!document.IsMap()) continue;
      const auto metadata = document["metadata"];
      if (!metadata || !metadata.IsMap()) continue;
      const auto ns = metadata["namespace"];
      if (ns && ns.IsScalar()) add(found, ns.Scalar());
    }
  } catch (const YAML::Exception&) {
    // Not a manifest; an ordinary string that mentions the word.
  }
}

}  // namespace

std::vector<std::string> namespaces_named(const nlohmann::json& arguments, const NamespacePolicy& policy) {
  std::vector<std::string> found;
  if (!arguments.is_object()) return found;
  for (const auto& path : policy.arguments) {
    if (const auto* ns = path.find(arguments); ns != nullptr && ns->is_string()) add(found, ns->get<std::string>());
  }
  for (const auto& [key, value] : arguments.items()) {
    if (value.is_object()) {
      from_manifest_object(value, policy, found);
    } else if (value.is_string()) {
      from_manifest_text(value.get_ref<const std::string&>(), found);
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (item.is_object()) from_manifest_object(item, policy, found);
      }
    }
  }
  return found;
}

}  // namespace sluice::policy
