// The resource types the demo cluster serves, and the discovery documents
// (/api, /apis, /api/v1, /apis/apps/v1) that kubectl reads to find them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::kube::demo {

using json = nlohmann::json;

struct ResourceType {
  std::string group;  // empty for the core group
  std::string version;
  std::string plural;
  std::string singular;
  std::string kind;
  bool namespaced;
  std::vector<std::string> short_names;
  std::vector<std::string> subresources;  // "log", "scale", "status"

  [[nodiscard]] std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

const std::vector<ResourceType>& resource_types();

// Null when the group/version does not serve `plural`.
const ResourceType* find_resource_type(std::string_view group, std::string_view version, std::string_view plural);
const ResourceType* find_resource_type_by_kind(std::string_view kind);

json version_document();
json core_versions_document(const std::string& server_address);
json group_list_document();
// Null when no such group/version is served.
json resource_list_document(std::string_view group, std::string_view version);

}  // namespace sluice::kube::demo
