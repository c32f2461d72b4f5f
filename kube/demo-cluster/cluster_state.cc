#include "kube/demo-cluster/cluster_state.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <random>

#include "kube/demo-cluster/selectors.h"

namespace sluice::kube::demo {
namespace {

const json& field(const json& object, const char* key) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  const auto found = object.find(key);
  return found == object.end() ? null_value : *found;
}

std::string string_at(const json& object, const json::json_pointer& pointer) {
  const auto* node = &object;
  if (!object.contains(pointer)) return {};
  node = &object.at(pointer);
  return node->is_string() ? node->get<std::string>() : std::string{};
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front())) || !std::isalnum(static_cast<unsigned char>(name.back()))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) != 0) || (std::isdigit(static_cast<unsigned char>(c)) != 0) ||
           c == '-' || c == '.';
  });
}

// Bytes in a Kubernetes memory quantity ("512Mi", "64Gi", "1G", "1000").
double memory_bytes(const json& quantity) {
  if (quantity.is_number()) return quantity.get<double>();
  if (!quantity.is_string()) return 0;
  const auto& text = quantity.get_ref<const std::string&>();
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return 0;
  }
  const std::string suffix = text.substr(used);
  static const std::map<std::string, double> factors = {
      {"", 1},          {"k", 1e3},          {"K", 1e3},           {"M", 1e6},          {"G", 1e9},
      {"T", 1e12},      {"Ki", 1024.0},      {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}};
  const auto factor = factors.find(suffix);
  return factor == factors.end() ? 0 : value * factor->second;
}

bool has_env(const json& container, const std::string& name) {
  for (const auto& variable : field(container, "env")) {
    if (field(variable, "name") != name) continue;
    const auto& value = field(variable, "value");
    if ((value.is_string() && !value.get_ref<const std::string&>().empty()) || field(variable, "valueFrom").is_object()) {
      return true;
    }
  }
  return false;
}

json owner_reference(const json& owner) {
  return {{"apiVersion", owner["apiVersion"]}, {"kind", owner["kind"]},        {"name", owner["metadata"]["name"]},
          {"uid", owner["metadata"]["uid"]},   {"controller", true},           {"blockOwnerDeletion", true}};
}

bool owned_by(const json& object, const std::string& owner_uid) {
  for (const auto& reference : field(field(object, "metadata"), "ownerReferences")) {
    if (field(reference, "uid") == owner_uid) return true;
  }
  return false;
}

// A pod-template-hash in the alphabet Kubernetes uses for it (no vowels, no 0/1/3).
std::string template_hash(const json& pod_template) {
  static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::size_t hash = std::hash<std::string>{}(pod_template.dump());
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text.push_back(alphabet[hash % alphabet.size()]);
    hash /= alphabet.size();
  }
  return text;
}

bool pod_ready(const json& pod) {
  const auto& statuses = field(field(pod, "status"), "containerStatuses");
  if (!statuses.is_array() || statuses.empty()) return false;
  return std::all_of(statuses.begin(), statuses.end(), [](const json& status) { return field(status, "ready") == true; });
}

}  // namespace

ClusterState::ClusterState(std::vector<ImageBehaviour> images) : images_(std::move(images)) {
  random_state_ ^= std::random_device{}();
}

std::string ClusterState::random_suffix(std::size_t length) {
  static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string text;
  for (std::size_t i = 0; i < length; ++i) {
    // xorshift64: names need to be distinct, not unpredictable.
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    text.push_back(alphabet[random_state_ % alphabet.size()]);
  }
  return text;
}

std::string ClusterState::new_uid() {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string uid;
  for (int i = 0; i < 32; ++i) {
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    if (i == 8 || i == 12 || i == 16 || i == 20) uid.push_back('-');
    uid.push_back(hex[random_state_ % 16]);
  }
  return uid;
}

const json* ClusterState::find(const std::string& plural, const std::string& ns, const std::string& name) const {
  const auto found = objects_.find({plural, ns, name});
  return found == objects_.end() ? nullptr : &found->second;
}

std::vector<const json*> ClusterState::list(const std::string& plural, const std::string& ns) const {
  std::vector<const json*> objects;
  for (auto it = objects_.lower_bound({plural, ns, ""}); it != objects_.end(); ++it) {
    const auto& [key_plural, key_ns, key_name] = it->first;
    if (key_plural != plural || (!ns.empty() && key_ns != ns)) break;
    objects.push_back(&it->second);
  }
  return objects;
}

const ContainerLogs* ClusterState::logs(const std::string& pod_uid, const std::string& container) const {
  const auto found = logs_.find({pod_uid, container});
  return found == logs_.end() ? nullptr : &found->second;
}

json ClusterState::store(const ResourceType& type, json object, bool creating) {
  auto& metadata = object["metadata"];
  const std::string name = metadata.value("name", "");
  if (!valid_name(name)) {
    throw ApiError(422, "Invalid",
                   type.kind + " \"" + name + "\" is invalid: metadata.name: Invalid value: \"" + name +
                       "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                       "'.', and must start and end with an alphanumeric character",
                   {{"name", name}, {"kind", type.plural}});
  }
  std::string ns;
  if (type.namespaced) {
    ns = metadata.value("namespace", "");
    if (ns.empty()) throw ApiError(422, "Invalid", type.kind + " \"" + name + "\" is invalid: metadata.namespace: Required value");
    if (find("namespaces", "", ns) == nullptr) {
      throw ApiError(404, "NotFound", "namespaces \"" + ns + "\" not found", {{"name", ns}, {"kind", "namespaces"}});
    }
  } else {
    metadata.erase("namespace");
  }
  object["kind"] = type.kind;
  object["apiVersion"] = type.api_version();
  if (creating) {
    metadata["uid"] = new_uid();
    metadata["creationTimestamp"] = to_rfc3339(now());
    if (type.plural == "deployments" || type.plural == "replicasets") metadata["generation"] = 1;
    if (type.plural == "namespaces") object["status"] = {{"phase", "Active"}};
  }
  metadata["resourceVersion"] = std::to_string(++revision_);
  objects_[{type.plural, ns, name}] = object;
  return object;
}

json ClusterState::create(const ResourceType& type, json object, bool dry_run) {
  const std::string name = string_at(object, "/metadata/name"_json_pointer);
  const std::string ns = type.namespaced ? string_at(object, "/metadata/namespace"_json_pointer) : std::string{};
  if (find(type.plural, ns, name) != nullptr) {
    throw ApiError(409, "AlreadyExists", type.plural + " \"" + name + "\" already exists",
                   {{"name", name}, {"group", type.group}, {"kind", type.plural}});
  }
  if (dry_run) {
    // Validate exactly as a real write would, then forget the result.
    const auto saved_revision = revision_;
    json stored = store(type, std::move(object), true);
    objects_.erase({type.plural, ns, name});
    revision_ = saved_revision;
    return stored;
  }
  json stored = store(type, std::move(object), true);
  if (type.plural == "pods" && !stored.contains("status")) {
    simulate_pod(objects_[{type.plural, ns, name}]);
    return *find(type.plural, ns, name);
  }
  if (type.plural == "deployments") {
    reconcile_deployment(ns, name);
    return *find(type.plural, ns, name);
  }
  return stored;
}

json ClusterState::replace(const ResourceType& type, json object, bool dry_run) {
  const std::string name = string_at(object, "/metadata/name"_json_pointer);
  const std::string ns = type.namespaced ? string_at(object, "/metadata/namespace"_json_pointer) : std::string{};
  const json* existing = find(type.plural, ns, name);
  if (existing == nullptr) {
    throw ApiError(404, "NotFound", type.plural + " \"" + name + "\" not found",
                   {{"name", name}, {"group", type.group}, {"kind", type.plural}});
  }
  const std::string sent_version = string_at(object, "/metadata/resourceVersion"_json_pointer);
  if (!sent_version.empty() && sent_version != (*existing)["metadata"]["resourceVersion"]) {
    throw ApiError(409, "Conflict",
                   "Operation cannot be fulfilled on " + type.plural + " \"" + name +
                       "\": the object has been modified; please apply your changes to the latest version and try "
                       "again",
                   {{"name", name}, {"group", type.group}, {"kind", type.plural}});
  }
  auto& metadata = object["metadata"];
  for (const char* kept : {"uid", "creationTimestamp", "generation"}) {
    if (existing->at("metadata").contains(kept)) metadata[kept] = existing->at("metadata").at(kept);
  }
  const bool spec_changed = field(object, "spec") != field(*existing, "spec");
  if (spec_changed && metadata.contains("generation")) metadata["generation"] = metadata["generation"].get<long long>() + 1;
  // The status belongs to the controllers, not to writers of the object.
  if (existing->contains("status") && type.plural != "events") object["status"] = existing->at("status");
  if (dry_run) {
    object["kind"] = type.kind;
    object["apiVersion"] = type.api_version();
    return object;
  }
  json stored = store(type, std::move(object), false);
  if (type.plural == "deployments") {
    reconcile_deployment(ns, name);
    return *find(type.plural, ns, name);
  }
  return stored;
}

void ClusterState::erase(const Key& key) {
  const auto found = objects_.find(key);
  if (found == objects_.end()) return;
  const std::string uid = string_at(found->second, "/metadata/uid"_json_pointer);
  objects_.erase(found);
  for (auto it = logs_.begin(); it != logs_.end();) {
    it = it->first.first == uid ? logs_.erase(it) : std::next(it);
  }
  delete_dependents(uid);
}

void ClusterState::delete_dependents(const std::string& owner_uid) {
  std::vector<Key> dependents;
  for (const auto& [key, object] : objects_) {
    if (owned_by(object, owner_uid)) dependents.push_back(key);
  }
  for (const auto& key : dependents) erase(key);
}

json ClusterState::remove(const ResourceType& type, const std::string& ns, const std::string& name, bool dry_run) {
  const json* existing = find(type.plural, ns, name);
  if (existing == nullptr) {
    throw ApiError(404, "NotFound", type.plural + " \"" + name + "\" not found",
                   {{"name", name}, {"group", type.group}, {"kind", type.plural}});
  }
  json removed = *existing;
  removed["metadata"]["deletionTimestamp"] = to_rfc3339(now());
  if (dry_run) return removed;
  if (type.plural == "namespaces") {
    std::vector<Key> contents;
    for (const auto& [key, object] : objects_) {
      if (std::get<1>(key) == name) contents.push_back(key);
    }
    for (const auto& key : contents) erase(key);
  }
  std::string owning_replica_set;
  for (const auto& reference : field(removed["metadata"], "ownerReferences")) {
    if (field(reference, "kind") == "ReplicaSet") owning_replica_set = field(reference, "name").get<std::string>();
  }
  erase({type.plural, ns, name});
  ++revision_;
  if (type.plural == "pods") {
    record_event(removed, "Normal", "Killing", "Stopping container " + string_at(removed, "/spec/containers/0/name"_json_pointer),
                 "kubelet");
  }
  // The pod's ReplicaSet notices and replaces it, as a real one would.
  std::string owning_deployment;
  if (const json* replica_set = find("replicasets", ns, owning_replica_set); replica_set != nullptr) {
    for (const auto& reference : field((*replica_set)["metadata"], "ownerReferences")) {
      if (field(reference, "kind") == "Deployment") owning_deployment = field(reference, "name").get<std::string>();
    }
  }
  if (!owning_deployment.empty()) reconcile_deployment(ns, owning_deployment);
  return removed;
}

const ImageBehaviour* ClusterState::behaviour_of(const std::string& image) const {
  for (const auto& behaviour : images_) {
    if (image.rfind(behaviour.image_prefix, 0) == 0) return &behaviour;
  }
  return nullptr;
}

void ClusterState::record_event(const json& involved, const std::string& type, const std::string& reason,
                                const std::string& message, const std::string& component, int count,
                                std::optional<Clock::time_point> last_seen) {
  const auto& metadata = involved["metadata"];
  const std::string ns = metadata.value("namespace", "default");
  const std::string time = to_rfc3339(now());
  json event = {
      {"metadata", {{"name", metadata.value("name", "") + "." + random_suffix(16)}, {"namespace", ns}}},
      {"involvedObject",
       {{"kind", involved.value("kind", "")},
        {"namespace", ns},
        {"name", metadata.value("name", "")},
        {"uid", metadata.value("uid", "")},
        {"apiVersion", involved.value("apiVersion", "")}}},
      {"reason", reason},
      {"message", message},
      {"type", type},
      {"count", count},
      {"firstTimestamp", time},
      {"lastTimestamp", last_seen ? to_rfc3339(*last_seen) : time},
      {"source", {{"component", component}}},
      {"reportingComponent", component},
  };
  if (involved.value("kind", "") == "Node") event["involvedObject"].erase("namespace");
  store(*find_resource_type("", "v1", "events"), std::move(event), true);
}

void ClusterState::simulate_pod(json& pod) {
  const auto& spec = pod["spec"];
  const std::string pod_name = pod["metadata"]["name"];
  const std::string ns = pod["metadata"]["namespace"];
  const std::string time = to_rfc3339(now());
  double requested = 0;
  for (const auto& container : field(spec, "containers")) {
    requested += memory_bytes(field(field(field(container, "resources"), "requests"), "memory"));
  }
  std::vector<const json*> fitting;
  const auto nodes = list("nodes", "");
  for (const json* node : nodes) {
    if (memory_bytes(field(field(field(*node, "status"), "allocatable"), "memory")) >= requested) fitting.push_back(node);
  }
  json status = {{"phase", "Pending"}, {"qosClass", "Burstable"}};
  if (fitting.empty()) {
    const std::string count = std::to_string(nodes.size());
    const std::string message = "0/" + count + " nodes are available: " + count +
                                " Insufficient memory. preemption: 0/" + count + " nodes are available: " + count +
                                " No preemption victims found for incoming pod.";
    status["conditions"] = {{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"},
                             {"message", message}, {"lastTransitionTime", time}}};
    pod["status"] = status;
    record_event(pod, "Warning", "FailedScheduling", message, "default-scheduler");
    return;
  }
  const json& node = *fitting[next_node_++ % fitting.size()];
  const std::string node_name = node["metadata"]["name"];
  pod["spec"]["nodeName"] = node_name;
  status["hostIP"] = string_at(node, "/status/addresses/0/address"_json_pointer);
  status["podIP"] = "10.244." + std::to_string(next_node_ % 3 + 1) + "." + std::to_string(2 + revision_ % 250);
  status["startTime"] = time;
  const std::string uid = pod["metadata"]["uid"];
  record_event(pod, "Normal", "Scheduled", "Successfully assigned " + ns + "/" + pod_name + " to " + node_name,
               "default-scheduler");
  // The sample pods were created long before the cluster started: a crash loop has
  // been restarting them every ~5 minutes since.
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - now());
  bool all_ready = true;
  json container_statuses = json::array();
  for (const auto& container : field(spec, "containers")) {
    const std::string name = container.value("name", "");
    const std::string image = container.value("image", "");
    const ImageBehaviour* behaviour = behaviour_of(image);
    const bool crashes = behaviour != nullptr && !behaviour->required_env.empty() && !has_env(container, behaviour->required_env);
    record_event(pod, "Normal", "Pulled", "Container image \"" + image + "\" already present on machine", "kubelet");
    record_event(pod, "Normal", "Created", "Created container: " + name, "kubelet");
    record_event(pod, "Normal", "Started", "Started container " + name, "kubelet");
    ContainerLogs container_logs;
    std::vector<std::string> lines = behaviour != nullptr ? behaviour->startup_log : std::vector<std::string>{};
    const auto& outcome = behaviour == nullptr ? std::vector<std::string>{"started"}
                          : crashes            ? behaviour->crash_log
                                               : behaviour->ready_log;
    lines.insert(lines.end(), outcome.begin(), outcome.end());
    auto stamp = [&](std::vector<LogLine>& out, Clock::time_point start) {
      for (std::size_t i = 0; i < lines.size(); ++i) out.push_back({start + std::chrono::milliseconds(120 * i), lines[i]});
    };
    json container_status = {{"name", name},   {"image", image},   {"imageID", "docker.io/" + image},
                             {"started", !crashes}, {"ready", !crashes}, {"containerID", "containerd://" + new_uid()}};
    if (crashes) {
      const int restarts = 1 + static_cast<int>(age.count() / 300);
      const auto finished = Clock::now() - std::chrono::seconds(40);
      stamp(container_logs.previous, finished - std::chrono::seconds(2));
      stamp(container_logs.current, finished - std::chrono::seconds(2));
      container_status["restartCount"] = restarts;
      container_status["state"] = {
          {"waiting",
           {{"reason", "CrashLoopBackOff"},
            {"message", "back-off 5m0s restarting failed container=" + name + " pod=" + pod_name + "_" + ns + "(" + uid + ")"}}}};
      container_status["lastState"] = {{"terminated",
                                        {{"exitCode", 1},
                                         {"reason", "Error"},
                                         {"startedAt", to_rfc3339(finished - std::chrono::seconds(2))},
                                         {"finishedAt", to_rfc3339(finished)}}}};
      record_event(pod, "Warning", "BackOff",
                   "Back-off restarting failed container " + name + " in pod " + pod_name + "_" + ns + "(" + uid + ")",
                   "kubelet", restarts, Clock::now() - std::chrono::seconds(40));
      all_ready = false;
    } else {
      stamp(container_logs.current, now());
      container_status["restartCount"] = 0;
      container_status["state"] = {{"running", {{"startedAt", time}}}};
    }
    logs_[{uid, name}] = std::move(container_logs);
    container_statuses.push_back(std::move(container_status));
  }
  const std::string ready = all_ready ? "True" : "False";
  status["phase"] = "Running";
  status["containerStatuses"] = container_statuses;
  status["conditions"] = json::array();
  for (const auto& [type, value] : std::vector<std::pair<std::string, std::string>>{
           {"Initialized", "True"}, {"Ready", ready}, {"ContainersReady", ready}, {"PodScheduled", "True"}}) {
    json condition = {{"type", type}, {"status", value}, {"lastTransitionTime", time}};
    if (value == "False") {
      condition["reason"] = "ContainersNotReady";
      condition["message"] = "containers with unready status: [" + field(spec, "containers")[0].value("name", "") + "]";
    }
    status["conditions"].push_back(std::move(condition));
  }
  pod["status"] = status;
}

json ClusterState::new_pod(const json& replica_set) {
  const auto& pod_template = replica_set["spec"]["template"];
  json pod = {{"metadata",
               {{"name", replica_set["metadata"]["name"].get<std::string>() + "-" + random_suffix(5)},
                {"namespace", replica_set["metadata"]["namespace"]},
                {"labels", field(field(pod_template, "metadata"), "labels")},
                {"ownerReferences", {owner_reference(replica_set)}}}},
              {"spec", pod_template["spec"]}};
  const auto& annotations = field(field(pod_template, "metadata"), "annotations");
  if (annotations.is_object()) pod["metadata"]["annotations"] = annotations;
  auto& spec = pod["spec"];
  if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
  if (!spec.contains("terminationGracePeriodSeconds")) spec["terminationGracePeriodSeconds"] = 30;
  if (!spec.contains("serviceAccountName")) spec["serviceAccountName"] = "default";
  if (!spec.contains("dnsPolicy")) spec["dnsPolicy"] = "ClusterFirst";
  return pod;
}

void ClusterState::reconcile_deployment(const std::string& ns, const std::string& name) {
  const json* found = find("deployments", ns, name);
  if (found == nullptr) return;
  const json deployment = *found;
  const std::string deployment_uid = deployment["metadata"]["uid"];
  const int desired = field(deployment["spec"], "replicas").is_number_integer() ? deployment["spec"]["replicas"].get<int>() : 1;
  const std::string hash = template_hash(deployment["spec"]["template"]);
  const std::string current_name = name + "-" + hash;
  const auto& replica_set_type = *find_resource_type("apps", "v1", "replicasets");
  const auto& pod_type = *find_resource_type("", "v1", "pods");

  // A changed template rolls out at once: the old ReplicaSets are scaled to zero.
  int revision = 0;
  for (const json* replica_set : list("replicasets", ns)) {
    if (!owned_by(*replica_set, deployment_uid)) continue;
    revision = std::max(revision, std::stoi(replica_set->at("metadata").at("annotations").value(
                                      "deployment.kubernetes.io/revision", "0")));
  }
  for (const json* replica_set_pointer : list("replicasets", ns)) {
    if (!owned_by(*replica_set_pointer, deployment_uid) || replica_set_pointer->at("metadata").at("name") == current_name) continue;
    json old_set = *replica_set_pointer;
    if (old_set["spec"]["replicas"] == 0) continue;
    const std::string old_uid = old_set["metadata"]["uid"];
    std::vector<Key> old_pods;
    for (const json* pod : list("pods", ns)) {
      if (owned_by(*pod, old_uid)) old_pods.push_back({"pods", ns, pod->at("metadata").at("name")});
    }
    for (const auto& key : old_pods) erase(key);
    record_event(deployment, "Normal", "ScalingReplicaSet",
                 "Scaled down replica set " + old_set["metadata"]["name"].get<std::string>() + " from " +
                     old_set["spec"]["replicas"].dump() + " to 0",
                 "deployment-controller");
    old_set["spec"]["replicas"] = 0;
    old_set["status"] = {{"replicas", 0}, {"observedGeneration", old_set["metadata"]["generation"]}};
    store(replica_set_type, std::move(old_set), false);
  }

  json replica_set;
  if (const json* existing = find("replicasets", ns, current_name); existing != nullptr) {
    replica_set = *existing;
  } else {
    json pod_template = deployment["spec"]["template"];
    pod_template["metadata"]["labels"]["pod-template-hash"] = hash;
    json selector = field(deployment["spec"], "selector");
    selector["matchLabels"]["pod-template-hash"] = hash;
    replica_set = {{"metadata",
                    {{"name", current_name},
                     {"namespace", ns},
                     {"labels", pod_template["metadata"]["labels"]},
                     {"annotations", {{"deployment.kubernetes.io/revision", std::to_string(revision + 1)}}},
                     {"ownerReferences", {owner_reference(deployment)}}}},
                   {"spec", {{"replicas", 0}, {"selector", selector}, {"template", pod_template}}}};
    replica_set = create(replica_set_type, std::move(replica_set), false);
  }
  const int previous = replica_set["spec"]["replicas"].get<int>();
  if (previous != desired) {
    record_event(deployment, "Normal", "ScalingReplicaSet",
                 std::string(desired > previous ? "Scaled up" : "Scaled down") + " replica set " + current_name +
                     " from " + std::to_string(previous) + " to " + std::to_string(desired),
                 "deployment-controller");
    replica_set["spec"]["replicas"] = desired;
    replica_set = store(replica_set_type, std::move(replica_set), false);
  }

  const std::string replica_set_uid = replica_set["metadata"]["uid"];
  std::vector<std::string> pods;
  for (const json* pod : list("pods", ns)) {
    if (owned_by(*pod, replica_set_uid)) pods.push_back(pod->at("metadata").at("name"));
  }
  while (static_cast<int>(pods.size()) < desired) {
    json pod = create(pod_type, new_pod(replica_set), false);
    pods.push_back(pod["metadata"]["name"]);
    record_event(replica_set, "Normal", "SuccessfulCreate", "Created pod: " + pods.back(), "replicaset-controller");
  }
  while (static_cast<int>(pods.size()) > desired) {
    erase({"pods", ns, pods.back()});
    record_event(replica_set, "Normal", "SuccessfulDelete", "Deleted pod: " + pods.back(), "replicaset-controller");
    pods.pop_back();
  }

  int ready = 0;
  for (const auto& pod_name : pods) ready += pod_ready(*find("pods", ns, pod_name)) ? 1 : 0;
  const int replicas = static_cast<int>(pods.size());
  replica_set["status"] = {{"replicas", replicas},
                           {"fullyLabeledReplicas", replicas},
                           {"readyReplicas", ready},
                           {"availableReplicas", ready},
                           {"observedGeneration", replica_set["metadata"]["generation"]}};
  store(replica_set_type, std::move(replica_set), false);

  json updated = *find("deployments", ns, name);
  const std::string time = to_rfc3339(now());
  const bool available = ready >= desired;
  json status = {{"observedGeneration", updated["metadata"]["generation"]},
                 {"replicas", replicas},
                 {"updatedReplicas", replicas},
                 {"readyReplicas", ready},
                 {"availableReplicas", ready}};
  if (replicas > ready) status["unavailableReplicas"] = replicas - ready;
  status["conditions"] = {
      {{"type", "Available"},
       {"status", available ? "True" : "False"},
       {"reason", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
       {"message", available ? "Deployment has minimum availability." : "Deployment does not have minimum availability."},
       {"lastUpdateTime", time},
       {"lastTransitionTime", time}},
      {{"type", "Progressing"},
       {"status", "True"},
       {"reason", "NewReplicaSetAvailable"},
       {"message", "ReplicaSet \"" + current_name + "\" has successfully progressed."},
       {"lastUpdateTime", time},
       {"lastTransitionTime", time}}};
  updated["status"] = std::move(status);
  store(*find_resource_type("apps", "v1", "deployments"), std::move(updated), false);
}

}  // namespace sluice::kube::demo
