#include "kube/secret_redaction.h"

#include <string>

namespace sluice::kube {

// The alias kube_api.h declares, here too: in a unity build (the sanitizer build) an
// alias of its own in the anonymous namespace would shadow that one.
using json = nlohmann::json;

namespace {

void redact_values(json& values) {
  if (!values.is_object()) {
    if (!values.is_null()) values = "[redacted]";
    return;
  }
  for (auto& [key, value] : values.items()) {
    const std::size_t size = value.is_string() ? value.get_ref<const std::string&>().size() : 0;
    value = std::string(kRedactedPrefix) + std::to_string(size) + " bytes]";
  }
}

void redact_secret(json& secret) {
  if (auto data = secret.find("data"); data != secret.end()) redact_values(*data);
  if (auto data = secret.find("stringData"); data != secret.end()) redact_values(*data);
  // kubectl apply keeps the whole manifest, values included, in this annotation.
  if (auto metadata = secret.find("metadata"); metadata != secret.end() && metadata->is_object()) {
    if (auto annotations = metadata->find("annotations"); annotations != metadata->end() && annotations->is_object()) {
      for (auto& [key, value] : annotations->items()) {
        if (key == "kubectl.kubernetes.io/last-applied-configuration") value = "[redacted]";
      }
    }
  }
}

bool is_secret(const json& object) {
  const auto kind = object.find("kind");
  return kind != object.end() && kind->is_string() && kind->get_ref<const std::string&>() == "Secret";
}

// Recursion is bounded by the depth the JSON parser allowed in the first place.
void walk(json& node, bool secrets_resource) {
  if (node.is_array()) {
    for (auto& element : node) walk(element, secrets_resource);
    return;
  }
  if (!node.is_object()) return;
  const auto kind = node.find("kind");
  const bool secret_list = kind != node.end() && kind->is_string() && kind->get_ref<const std::string&>() == "SecretList";
  if (is_secret(node)) redact_secret(node);
  for (auto& [key, value] : node.items()) {
    const bool items_are_secrets = (secret_list || secrets_resource) && (key == "items");
    if (items_are_secrets && value.is_array()) {
      for (auto& item : value) {
        if (item.is_object()) redact_secret(item);
      }
    }
    // A Table row's object is the secret itself (or its metadata).
    if (secrets_resource && key == "object" && value.is_object()) redact_secret(value);
    walk(value, secrets_resource);
  }
}

}  // namespace

void redact_secrets(json& document, bool secrets_resource) {
  if (secrets_resource && document.is_object() && document.contains("data")) redact_secret(document);
  walk(document, secrets_resource);
}

}  // namespace sluice::kube
