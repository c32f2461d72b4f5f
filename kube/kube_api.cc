#include "kube/kube_api.h"

#include "kube/secret_redaction.h"

namespace sluice::kube {
namespace {

// Error responses may come from proxies in front of the API server: not always a Status.
std::string describe_failure(const RestResponse& response, std::string_view method, const std::string& path) {
  std::string reason;
  std::string message;
  try {
    const json status = json::parse(response.body);
    if (status.is_object()) {
      reason = status.value("reason", "");
      message = status.value("message", "");
    }
  } catch (const json::exception&) {
  }
  if (message.empty()) message = response.body.substr(0, 300);
  std::string text = "Kubernetes API error " + std::to_string(response.status);
  if (!reason.empty()) text += " (" + reason + ")";
  text += ": " + message;
  if (response.status == 401) text += " — the credentials were not accepted";
  text += " [" + std::string(method) + " " + path.substr(0, path.find('?')) + "]";
  return text;
}

bool about_secrets(const std::string& path) {
  const auto query = path.find('?');
  const std::string_view bare = std::string_view(path).substr(0, query);
  return bare.rfind("/api/", 0) == 0 && (bare.find("/secrets/") != std::string_view::npos ||
                                         (bare.size() >= 8 && bare.substr(bare.size() - 8) == "/secrets"));
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((std::isalnum(byte) != 0) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 15]);
    }
  }
  return out;
}

std::string ResourceType::collection_path(const std::string& ns) const {
  std::string path = api_version.find('/') == std::string::npos ? "/api/" + api_version : "/apis/" + api_version;
  if (namespaced && !ns.empty()) path += "/namespaces/" + url_encode(ns);
  return path + "/" + plural;
}

asio::awaitable<RestResponse> KubeApi::call(std::string_view method, const std::string& path, std::string body,
                                            std::string content_type, std::string accept) {
  RestResponse response;
  try {
    response = co_await client_.request(method, path, std::move(body), std::move(content_type), std::move(accept));
  } catch (const TransportError& error) {
    throw ToolError(error.what());
  }
  if (response.status >= 400) throw ToolError(describe_failure(response, method, path));
  co_return response;
}

asio::awaitable<json> KubeApi::get(const std::string& path) { co_return co_await send("GET", path, {}, {}); }

asio::awaitable<std::string> KubeApi::get_text(const std::string& path) {
  auto response = co_await call("GET", path, {}, {}, "text/plain, */*");
  co_return std::move(response.body);
}

asio::awaitable<json> KubeApi::send(std::string_view method, const std::string& path, std::string body,
                                    std::string content_type) {
  const auto response = co_await call(method, path, std::move(body), std::move(content_type), "application/json");
  json document;
  try {
    document = json::parse(response.body);
  } catch (const json::exception&) {
    throw ToolError("the Kubernetes API answered " + std::string(method) + " " + path + " with something other than JSON");
  }
  // Every response passes here, so no tool can forget: Secrets are redacted first.
  redact_secrets(document, about_secrets(path));
  co_return document;
}

asio::awaitable<ResourceType> KubeApi::resolve(const std::string& api_version, const std::string& kind) {
  if (api_version.empty() || kind.empty()) throw ToolError("apiVersion and kind are required (e.g. apps/v1, Deployment)");
  auto cached = discovery_.find(api_version);
  if (cached == discovery_.end()) {
    const std::string path = api_version.find('/') == std::string::npos ? "/api/" + api_version : "/apis/" + api_version;
    json resources;
    try {
      resources = co_await get(path);
    } catch (const ToolError& error) {
      throw ToolError("apiVersion " + api_version + " is not served by this cluster (" + error.what() + ")");
    }
    cached = discovery_.emplace(api_version, std::move(resources)).first;
  }
  for (const auto& resource : cached->second.value("resources", json::array())) {
    const std::string name = resource.value("name", "");
    if (resource.value("kind", "") == kind && name.find('/') == std::string::npos) {
      co_return ResourceType{api_version, kind, name, resource.value("namespaced", true)};
    }
  }
  throw ToolError("kind " + kind + " is not served in " + api_version + " by this cluster");
}

}  // namespace sluice::kube
