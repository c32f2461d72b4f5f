// The Kubernetes API semantics of the demo cluster, independent of HTTP and TLS:
// authorization, routing of /api and /apis paths, list/get/create/update/patch/
// delete, server-side apply, dry runs, selectors, Table output, pod logs and the
// deployments' scale subresource. Every failure is a `Status` object, as kubectl
// expects it.
#pragma once

#include <string>
#include <vector>

#include "kube/demo-cluster/cluster_state.h"

namespace sluice::kube::demo {

struct Caller {
  std::string user;
  std::vector<std::string> groups;
};

struct ApiRequest {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string accept;
  std::string body;
  Caller caller;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The read-only user of the demo kubeconfig (bearer token): may get and list
// everything but Secrets, and change nothing. Tests use it to see a 403.
inline constexpr const char* kViewerUser = "demo-viewer";
inline constexpr const char* kAdminGroup = "system:masters";

class ApiServer {
 public:
  explicit ApiServer(ClusterState& state) : state_(state) {}
  // HOST:PORT as clients reach it, for the /api document; known once the port is bound.
  void set_server_address(std::string address) { server_address_ = std::move(address); }
  ApiResponse handle(const ApiRequest& request);

 private:
  ClusterState& state_;
  std::string server_address_;
};

}  // namespace sluice::kube::demo
