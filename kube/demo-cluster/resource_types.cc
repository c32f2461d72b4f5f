#include "kube/demo-cluster/resource_types.h"

#include <algorithm>

namespace sluice::kube::demo {

const std::vector<ResourceType>& resource_types() {
  static const std::vector<ResourceType> types = {
      {"", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, {}},
      {"", "v1", "nodes", "node", "Node", false, {"no"}, {}},
      {"", "v1", "pods", "pod", "Pod", true, {"po"}, {"log"}},
      {"", "v1", "services", "service", "Service", true, {"svc"}, {}},
      {"", "v1", "events", "event", "Event", true, {"ev"}, {}},
      {"", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, {}},
      {"", "v1", "secrets", "secret", "Secret", true, {}, {}},
      // Kept but not acted on: what a manifest for Sluice's own sidecar deployment
      // needs (examples/kubernetes/), so that kubectl can map and dry-run it here.
      {"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}, {}},
      {"", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, {"pvc"}, {}},
      {"rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, {}, {}},
      {"apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, {"scale"}},
      {"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, {}},
  };
  return types;
}

const ResourceType* find_resource_type(std::string_view group, std::string_view version, std::string_view plural) {
  for (const auto& type : resource_types()) {
    if (type.group == group && type.version == version && type.plural == plural) return &type;
  }
  return nullptr;
}

const ResourceType* find_resource_type_by_kind(std::string_view kind) {
  for (const auto& type : resource_types()) {
    if (type.kind == kind) return &type;
  }
  return nullptr;
}

json version_document() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0-sluice-demo"},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-01-01T00:00:00Z"},
          {"goVersion", "none"},
          {"compiler", "g++"},
          {"platform", "linux/amd64"}};
}

json core_versions_document(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

json group_list_document() {
  json groups = json::array();
  for (const auto& type : resource_types()) {
    if (type.group.empty() || std::any_of(groups.begin(), groups.end(), [&](const json& group) {
          return group["name"] == type.group;
        })) {
      continue;
    }
    const json version = {{"groupVersion", type.api_version()}, {"version", type.version}};
    groups.push_back({{"name", type.group}, {"versions", {version}}, {"preferredVersion", version}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json resource_list_document(std::string_view group, std::string_view version) {
  json resources = json::array();
  for (const auto& type : resource_types()) {
    if (type.group != group || type.version != version) continue;
    const json verbs = {"create", "delete", "get", "list", "patch", "update"};
    json entry = {{"name", type.plural},      {"singularName", type.singular}, {"namespaced", type.namespaced},
                  {"kind", type.kind},        {"verbs", verbs},                {"storageVersionHash", ""}};
    if (!type.short_names.empty()) entry["shortNames"] = type.short_names;
    if (type.plural == "pods" || type.plural == "deployments" || type.plural == "services") {
      entry["categories"] = {"all"};
    }
    resources.push_back(std::move(entry));
    for (const auto& subresource : type.subresources) {
      json sub = {{"name", type.plural + "/" + subresource}, {"singularName", ""}, {"namespaced", type.namespaced}};
      if (subresource == "log") {
        sub["kind"] = "Pod";
        sub["verbs"] = {"get"};
      } else {
        sub["group"] = "autoscaling";
        sub["version"] = "v1";
        sub["kind"] = "Scale";
        sub["verbs"] = {"get", "patch", "update"};
      }
      resources.push_back(std::move(sub));
    }
  }
  if (resources.empty()) return nullptr;
  const std::string group_version = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return {{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", group_version}, {"resources", resources}};
}

}  // namespace sluice::kube::demo
