// A client for the Kubernetes REST API: HTTPS over Boost.Beast and OpenSSL with the
// cluster's CA verified (or the system's roots), client certificates or bearer
// tokens, kept-alive connections, and a deadline on connecting and on every request.
// HTTP error statuses are returned for the caller to read; only failing to talk to
// the server at all throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kube/kubeconfig.h"
#include "mcp/asio.h"

namespace sluice::kube {

struct RestResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The cluster could not be reached, TLS failed, a deadline passed, or the response
// was too large; the message says which, and where.
struct TransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RestClientOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_response_bytes = std::size_t{32} << 20;
  // Kept-alive connections idle longer than this are closed rather than reused: API
  // servers and load balancers drop idle connections after a minute or more.
  std::chrono::seconds max_idle{std::chrono::seconds(45)};
  std::size_t max_idle_connections = 4;
};

class RestClient {
 public:
  // Throws KubeconfigError when the credentials' certificates or keys are unusable.
  RestClient(const asio::any_io_executor& executor, ClusterCredentials credentials, RestClientOptions options = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // `target` is the path and query below the server URL. Throws TransportError.
  asio::awaitable<RestResponse> request(std::string_view method, std::string target, std::string body = {},
                                        std::string content_type = {}, std::string accept = "application/json");

  [[nodiscard]] const ClusterCredentials& credentials() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::kube
