// Sluice's Streamable HTTP endpoint, both eras on one path. 2025 revisions: POST
// (client messages), GET (the stream of server-initiated messages, and resumption with
// Last-Event-ID) and DELETE (end the session); session ids are cryptographically
// random, and each new session goes to the proxy, which pairs it with an upstream.
// 2026-07-28: a POST without Mcp-Session-Id whose body is `server/discover` or claims
// the version in `_meta` is one stateless request; its Mcp-* headers are checked
// against the body (400 and -32020 on a mismatch), and it goes to the proxy as a
// one-request session whose answer is JSON, or a request-scoped SSE stream once a
// notification comes before the response; the client
// closing that stream ends the session, which cancels the call. Host, Origin and
// bearer tokens are checked for both.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
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
  std::size_t max_sessions = 100;  // 2025 sessions at once, and 2026-07-28 requests answered at once
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(15)};
  ParseLimits parse_limits;
  HttpSessionLimits session_limits;
  // Pairs a 2026-07-28 request's one-request session with an upstream, as
  // HttpListener's SessionHandler does a 2025 session; unset: modern requests are
  // refused (400), as before Sluice spoke 2026-07-28.
  std::function<void(const std::shared_ptr<HttpServerSession>&)> on_modern_request;
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
  // Sluice is stopping: no connection is accepted any more, and an open one is closed
  // after the request it is reading or answering; the sessions stay.
  void stop_accepting();
  // Then, once the proxy has answered what the sessions hold: waits until every answer
  // is written to its client (or `grace` has passed), and stops.
  asio::awaitable<void> stop_after_answers(std::chrono::milliseconds grace);
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
  // The 2026-07-28 requests being answered, to end when the listener stops.
  std::unordered_set<HttpServerSession*> modern_requests_;
  // What the tools/list results relayed to any client said of Mcp-Param-* headers.
  ToolHeaderMap tool_headers_;
  // Shared with each Connection: a connection's frame may be destroyed after the
  // listener, with the io_context.
  std::shared_ptr<std::size_t> open_connections_ = std::make_shared<std::size_t>(0);
  bool at_connection_limit_ = false;
  asio::steady_timer sweep_timer_;
  asio::steady_timer accept_retry_timer_;
};

}  // namespace sluice::mcp
