#include "kube/demo-cluster/tables.h"

#include <functional>

#include "kube/object_fields.h"

namespace sluice::kube::demo {
namespace {

struct Column {
  const char* name;
  const char* type;  // "string" or "integer"
  int priority;      // 1: only with -o wide
  std::function<json(const json&, Clock::time_point)> cell;
};

Column name_column() {
  return {"Name", "string", 0, [](const json& object, Clock::time_point) { return text_at(object, "/metadata/name"); }};
}

Column age_column() {
  return {"Age", "string", 0, [](const json& object, Clock::time_point now) {
            return age_since(text_at(object, "/metadata/creationTimestamp"), now);
          }};
}

std::vector<Column> columns_for(const std::string& plural) {
  if (plural == "pods") {
    return {name_column(),
            {"Ready", "string", 0,
             [](const json& pod, Clock::time_point) {
               const json::json_pointer path("/status/containerStatuses");
               int ready = 0;
               if (pod.contains(path)) {
                 for (const auto& container : pod.at(path)) ready += container.value("ready", false) ? 1 : 0;
               }
               const auto total = pod.at("spec").value("containers", json::array()).size();
               return std::to_string(ready) + "/" + std::to_string(total);
             }},
            {"Status", "string", 0, [](const json& pod, Clock::time_point) { return pod_status(pod); }},
            {"Restarts", "string", 0,
             [](const json& pod, Clock::time_point) {
               long long restarts = 0;
               const json::json_pointer path("/status/containerStatuses");
               if (pod.contains(path)) {
                 for (const auto& container : pod.at(path)) restarts += container.value("restartCount", 0LL);
               }
               return std::to_string(restarts);
             }},
            age_column(),
            {"IP", "string", 1, [](const json& pod, Clock::time_point) { return text_at(pod, "/status/podIP"); }},
            {"Node", "string", 1, [](const json& pod, Clock::time_point) { return text_at(pod, "/spec/nodeName"); }}};
  }
  if (plural == "deployments") {
    return {name_column(),
            {"Ready", "string", 0,
             [](const json& d, Clock::time_point) {
               return std::to_string(number_at(d, "/status/readyReplicas")) + "/" +
                      std::to_string(number_at(d, "/spec/replicas"));
             }},
            {"Up-to-date", "integer", 0,
             [](const json& d, Clock::time_point) { return number_at(d, "/status/updatedReplicas"); }},
            {"Available", "integer", 0,
             [](const json& d, Clock::time_point) { return number_at(d, "/status/availableReplicas"); }},
            age_column(),
            {"Containers", "string", 1,
             [](const json& d, Clock::time_point) { return text_at(d, "/spec/template/spec/containers/0/name"); }},
            {"Images", "string", 1,
             [](const json& d, Clock::time_point) { return text_at(d, "/spec/template/spec/containers/0/image"); }}};
  }
  if (plural == "replicasets") {
    return {name_column(),
            {"Desired", "integer", 0, [](const json& r, Clock::time_point) { return number_at(r, "/spec/replicas"); }},
            {"Current", "integer", 0, [](const json& r, Clock::time_point) { return number_at(r, "/status/replicas"); }},
            {"Ready", "integer", 0, [](const json& r, Clock::time_point) { return number_at(r, "/status/readyReplicas"); }},
            age_column()};
  }
  if (plural == "services") {
    return {name_column(),
            {"Type", "string", 0, [](const json& s, Clock::time_point) { return text_at(s, "/spec/type"); }},
            {"Cluster-IP", "string", 0, [](const json& s, Clock::time_point) { return text_at(s, "/spec/clusterIP"); }},
            {"External-IP", "string", 0, [](const json&, Clock::time_point) { return std::string("<none>"); }},
            {"Port(s)", "string", 0,
             [](const json& s, Clock::time_point) {
               std::string ports;
               for (const auto& port : s.at("spec").value("ports", json::array())) {
                 if (!ports.empty()) ports += ",";
                 ports += std::to_string(port.value("port", 0)) + "/" + port.value("protocol", "TCP");
               }
               return ports;
             }},
            age_column()};
  }
  if (plural == "nodes") {
    return {name_column(),
            {"Status", "string", 0,
             [](const json& n, Clock::time_point) {
               for (const auto& condition : n.at("status").value("conditions", json::array())) {
                 if (condition.value("type", "") == "Ready") {
                   return std::string(condition.value("status", "") == "True" ? "Ready" : "NotReady");
                 }
               }
               return std::string("Unknown");
             }},
            {"Roles", "string", 0,
             [](const json& n, Clock::time_point) {
               return std::string(n.contains(json::json_pointer("/metadata/labels/node-role.kubernetes.io~1worker"))
                                      ? "worker"
                                      : "<none>");
             }},
            age_column(),
            {"Version", "string", 0,
             [](const json& n, Clock::time_point) { return text_at(n, "/status/nodeInfo/kubeletVersion"); }}};
  }
  if (plural == "namespaces") {
    return {name_column(),
            {"Status", "string", 0, [](const json& n, Clock::time_point) { return text_at(n, "/status/phase"); }},
            age_column()};
  }
  if (plural == "events") {
    return {{"Last Seen", "string", 0,
             [](const json& e, Clock::time_point now) { return age_since(text_at(e, "/lastTimestamp"), now); }},
            {"Type", "string", 0, [](const json& e, Clock::time_point) { return text_at(e, "/type"); }},
            {"Reason", "string", 0, [](const json& e, Clock::time_point) { return text_at(e, "/reason"); }},
            {"Object", "string", 0,
             [](const json& e, Clock::time_point) {
               std::string kind = text_at(e, "/involvedObject/kind");
               for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
               return kind + "/" + text_at(e, "/involvedObject/name");
             }},
            {"Message", "string", 0, [](const json& e, Clock::time_point) { return text_at(e, "/message"); }}};
  }
  if (plural == "secrets") {
    return {name_column(),
            {"Type", "string", 0, [](const json& s, Clock::time_point) { return text_at(s, "/type"); }},
            {"Data", "integer", 0,
             [](const json& s, Clock::time_point) {
               return static_cast<long long>(s.value("data", json::object()).size());
             }},
            age_column()};
  }
  if (plural == "configmaps") {
    return {name_column(),
            {"Data", "integer", 0,
             [](const json& c, Clock::time_point) {
               return static_cast<long long>(c.value("data", json::object()).size());
             }},
            age_column()};
  }
  return {name_column(), age_column()};
}

}  // namespace

json make_table(const ResourceType& type, const std::vector<const json*>& objects, TableObjects include,
                Clock::time_point now, const std::string& resource_version) {
  const auto columns = columns_for(type.plural);
  json definitions = json::array();
  for (const auto& column : columns) {
    definitions.push_back({{"name", column.name},
                           {"type", column.type},
                           {"format", std::string(column.name) == "Name" ? "name" : ""},
                           {"description", ""},
                           {"priority", column.priority}});
  }
  json rows = json::array();
  for (const json* object : objects) {
    json cells = json::array();
    for (const auto& column : columns) cells.push_back(column.cell(*object, now));
    json row = {{"cells", cells}};
    if (include == TableObjects::full) {
      row["object"] = *object;
    } else if (include == TableObjects::metadata) {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", object->value("metadata", json::object())}};
    }
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", {{"resourceVersion", resource_version}}},
          {"columnDefinitions", definitions},
          {"rows", rows}};
}

}  // namespace sluice::kube::demo
