// Sluice's Streamable HTTP endpoint (MCP 2025-03-26 and later 2025 revisions): one
// path that takes POST (client messages), GET (the stream of server-initiated
// messages, and resumption with Last-Event-ID) and DELETE (end the session). It checks
// Host, Origin and bearer tokens, mints cryptographically random session ids, and
// hands each new session to the proxy, which pairs it with its own upstream.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "mcp/http_server_session.h"

namespace sluice::mcp {

struct BearerToken {
  std::string principal;
  std::string sha256;  // the raw 32-byte digest of the token
};

struct HttpListenerOptions {
  std::string address = "127.0.0.1:8765";  // HOST:PORT; port 0 picks a free one
  std::string path = "/mcp";
  // Empty: no authentication, and only a loopback address may be bound.
  std::vector<BearerToken> tokens;
  // Whether a request with this Origin header may be served (DNS-rebinding
  // protection); requests without Origin are not from a browser and pass.
  std::function<bool(std::string_view origin)> origin_allowed;
  // Both set: HTTPS with this certificate chain and private key (PEM files).
  std::string tls_certificate_file;
  std::string tls_key_file;
  std::size_t max_body_bytes = std::size_t{4} << 20;
  std::size_t max_header_bytes = 16 << 10;  // request line and headers; larger gets 431
  // A request's head must arrive within header_timeout of its first byte, its body
  // within body_timeout of the head (slowloris); else the connection is closed.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  // Connections open at once; the next is answered 503 and closed.
  std::size_t max_connections = 16384;
  std::size_t max_sessions = 100;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(15)};
  ParseLimits parse_limits;
  HttpSessionLimits session_limits;
};

class HttpListener {
 public:
  // Called once per new session, before its initialize request is queued; pairs it
  // with an upstream. Throwing refuses the session (the client gets a 502).
  using SessionHandler = std::function<void(const std::shared_ptr<HttpServerSession>&)>;

  // Binds at once. Throws std::invalid_argument for a malformed address, or a
  // non-loopback address without tokens; std::runtime_error for an unusable TLS
  // certificate or key; std::system_error when binding fails.
  HttpListener(const asio::any_io_executor& executor, HttpListenerOptions options, SessionHandler on_session);
  ~HttpListener();

  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  [[nodiscard]] asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // "http://127.0.0.1:8765/mcp", or https:// with TLS
  [[nodiscard]] std::string url() const;

  void start();
  // Stops accepting and ends every session.
  void stop();
  // Ends one session: its transport closes, later requests naming it get 404.
  void end_session(const std::string& id);
  [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }
  [[nodiscard]] std::size_t connection_count() const { return *open_connections_; }

  class Connection;

 private:
  friend class Connection;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> expire_idle_sessions();
  void refuse_connection(asio::ip::tcp::socket& socket);

  asio::any_io_executor executor_;
  HttpListenerOptions options_;
  SessionHandler on_session_;
  std::optional<asio::ssl::context> tls_;
  asio::ip::tcp::acceptor acceptor_;
  bool loopback_ = true;
  bool stopped_ = false;
  std::unordered_map<std::string, std::shared_ptr<HttpServerSession>> sessions_;
  // Shared with each Connection: a connection's frame may be destroyed after the
  // listener, with the io_context.
  std::shared_ptr<std::size_t> open_connections_ = std::make_shared<std::size_t>(0);
  bool at_connection_limit_ = false;
  asio::steady_timer sweep_timer_;
  asio::steady_timer accept_retry_timer_;
};

}  // namespace sluice::mcp
