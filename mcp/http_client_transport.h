// Sluice as a Streamable HTTP client of a remote MCP server (`upstream.url`), as an
// mcp::Transport: each message sent becomes its own POST; JSON and SSE answers, and
// the GET stream of server-initiated messages, come out of receive(). It keeps the
// session id and negotiated protocol version the server gave, and ends (receive()
// returns nullopt) when the server is unreachable or forgets the session, so the
// proxy answers what is in flight with "upstream exited".
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mcp/transport.h"

namespace sluice::mcp {

struct HttpUpstreamOptions {
  std::string url;  // http://HOST[:PORT]/PATH or https://…
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
  std::size_t max_message_bytes = std::size_t{64} << 20;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::string ca_file;  // https: the CA certificates (PEM) to verify the server against; empty: the system's
};

class HttpClientTransport final : public Transport {
 public:
  // Throws std::invalid_argument for a URL it cannot use, std::runtime_error for an
  // unusable CA file.
  HttpClientTransport(const asio::any_io_executor& executor, HttpUpstreamOptions options);
  ~HttpClientTransport() override;

  HttpClientTransport(const HttpClientTransport&) = delete;
  HttpClientTransport& operator=(const HttpClientTransport&) = delete;

  asio::awaitable<std::optional<Frame>> receive() override;
  void send(std::string message) override;
  asio::awaitable<void> drain(std::size_t /*max_queued_bytes*/) override { co_return; }
  void close_send() override;
  void close_receive() override;
  void close() override;
  [[nodiscard]] bool can_send() const override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sluice::mcp
