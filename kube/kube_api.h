// What the tools see of the cluster: JSON in and out of the REST API, with Secrets
// redacted in every response before a tool can look at it, API failures turned into
// ToolErrors whose text names the status, the reason and the API's own message, and
// kinds resolved to resources through discovery.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/rest_client.h"
#include "mcp/asio.h"

namespace sluice::kube {

using json = nlohmann::json;

// A failure a model can act on: becomes a tool result with isError and this text.
struct ToolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ResourceType {
  std::string api_version;  // "v1", "apps/v1"
  std::string kind;
  std::string plural;
  bool namespaced = true;

  // /api/v1/namespaces/NS/pods or /apis/apps/v1/deployments; `ns` ignored when cluster-scoped.
  [[nodiscard]] std::string collection_path(const std::string& ns) const;
};

std::string url_encode(std::string_view text);

class KubeApi {
 public:
  explicit KubeApi(RestClient& client) : client_(client) {}

  asio::awaitable<json> get(const std::string& path);
  asio::awaitable<std::string> get_text(const std::string& path);
  // PATCH, POST, DELETE; the result is the API's (redacted) answer.
  asio::awaitable<json> send(std::string_view method, const std::string& path, std::string body,
                             std::string content_type);

  // Finds the resource for apiVersion and kind through discovery (cached).
  asio::awaitable<ResourceType> resolve(const std::string& api_version, const std::string& kind);

  [[nodiscard]] const ClusterCredentials& credentials() const { return client_.credentials(); }

 private:
  asio::awaitable<RestResponse> call(std::string_view method, const std::string& path, std::string body,
                                     std::string content_type, std::string accept);

  RestClient& client_;
  std::map<std::string, json> discovery_;  // group/version -> APIResourceList
};

}  // namespace sluice::kube
