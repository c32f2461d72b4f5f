// The demo cluster's HTTPS front: TLS with the generated server certificate,
// client certificates verified against the demo CA (or a bearer token), HTTP/1.1
// with keep-alive, bounded request sizes and idle timeouts. Each connection is one
// coroutine on the one io_context; the API state is touched only there.
#pragma once

#include <string>

#include "kube/demo-cluster/api_server.h"
#include "kube/demo-cluster/certificates.h"
#include "mcp/asio.h"

namespace sluice::kube::demo {

struct ServerCredentials {
  const DemoPki& pki;
  std::string viewer_token;
};

// Binds "HOST:PORT" at construction (port 0 picks a free one, see port()); start()
// accepts connections until the io_context stops.
class HttpsServer {
 public:
  HttpsServer(asio::io_context& io, const std::string& address, const ServerCredentials& credentials, ApiServer& api);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  [[nodiscard]] unsigned short port() const;
  void start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::kube::demo
