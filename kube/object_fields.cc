#include "kube/object_fields.h"

namespace sluice::kube {

using json = nlohmann::json;

std::string text_at(const json& object, const char* pointer) {
  const json::json_pointer path(pointer);
  if (!object.contains(path)) return "";
  const auto& value = object.at(path);
  return value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
}

long long number_at(const json& object, const char* pointer) {
  const json::json_pointer path(pointer);
  return object.contains(path) && object.at(path).is_number_integer() ? object.at(path).get<long long>() : 0;
}

std::string pod_status(const json& pod) {
  if (pod.contains(json::json_pointer("/metadata/deletionTimestamp"))) return "Terminating";
  const json::json_pointer statuses("/status/containerStatuses");
  if (pod.contains(statuses) && pod.at(statuses).is_array()) {
    for (const auto& container : pod.at(statuses)) {
      const auto& state = container.value("state", json::object());
      for (const char* key : {"waiting", "terminated"}) {
        if (state.contains(key) && state[key].contains("reason")) return state[key]["reason"];
      }
    }
  }
  const std::string phase = text_at(pod, "/status/phase");
  return phase.empty() ? "Unknown" : phase;
}

}  // namespace sluice::kube
