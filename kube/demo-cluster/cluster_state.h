// The demo cluster's objects and the little that happens to them on their own: a
// deployment controller that keeps each Deployment's ReplicaSet and pods at the
// wanted count, a scheduler that leaves pods Pending when no node has the memory
// they request, and containers that crash when their image's required environment
// is missing. Pods, logs and events follow from the specs; nothing is canned.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/demo-cluster/resource_types.h"
#include "kube/timestamps.h"

namespace sluice::kube::demo {

// An API error: becomes a `Status` object with this code and reason.
struct ApiError : std::runtime_error {
  ApiError(int status_code, std::string status_reason, const std::string& message, json status_details = json::object())
      : std::runtime_error(message),
        code(status_code),
        reason(std::move(status_reason)),
        details(std::move(status_details)) {}
  int code;
  std::string reason;
  json details;
};

// What a demo image needs to start, and what it logs.
struct ImageBehaviour {
  std::string image_prefix;
  std::string required_env;  // empty: starts with any environment
  std::vector<std::string> startup_log;
  std::vector<std::string> ready_log;  // printed once started
  std::vector<std::string> crash_log;  // printed instead when the required variable is missing
};

struct LogLine {
  Clock::time_point time;
  std::string text;
};

struct ContainerLogs {
  std::vector<LogLine> current;
  std::vector<LogLine> previous;  // empty when the container never restarted
};

class ClusterState {
 public:
  explicit ClusterState(std::vector<ImageBehaviour> images);

  // Objects created from now on are dated `age` in the past (for sample data).
  void backdate(std::chrono::seconds age) { backdate_ = age; }

  [[nodiscard]] const json* find(const std::string& plural, const std::string& ns, const std::string& name) const;
  // `ns` empty: every namespace.
  [[nodiscard]] std::vector<const json*> list(const std::string& plural, const std::string& ns) const;

  // Each returns the object as stored (or as it would be stored, when `dry_run`).
  // Throws ApiError (404 missing, 409 exists or conflicting resourceVersion, 422 invalid).
  json create(const ResourceType& type, json object, bool dry_run);
  json replace(const ResourceType& type, json object, bool dry_run);
  json remove(const ResourceType& type, const std::string& ns, const std::string& name, bool dry_run);

  // Null when the pod or container has no logs.
  [[nodiscard]] const ContainerLogs* logs(const std::string& pod_uid, const std::string& container) const;

  [[nodiscard]] std::string resource_version() const { return std::to_string(revision_); }
  [[nodiscard]] Clock::time_point now() const { return Clock::now() - backdate_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // plural, namespace, name

  json store(const ResourceType& type, json object, bool creating);
  void erase(const Key& key);
  void reconcile_deployment(const std::string& ns, const std::string& name);
  void delete_dependents(const std::string& owner_uid);
  json new_pod(const json& replica_set);
  void simulate_pod(json& pod);
  void record_event(const json& involved, const std::string& type, const std::string& reason,
                    const std::string& message, const std::string& component, int count = 1,
                    std::optional<Clock::time_point> last_seen = std::nullopt);
  const ImageBehaviour* behaviour_of(const std::string& image) const;
  std::string new_uid();
  std::string random_suffix(std::size_t length);

  std::vector<ImageBehaviour> images_;
  std::map<Key, json> objects_;
  std::map<std::pair<std::string, std::string>, ContainerLogs> logs_;  // pod uid, container
  long long revision_ = 1000;
  unsigned long long random_state_ = 0x9e3779b97f4a7c15ULL;
  std::chrono::seconds backdate_{0};
  std::size_t next_node_ = 0;
};

}  // namespace sluice::kube::demo
