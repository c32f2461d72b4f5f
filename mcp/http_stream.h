// One HTTP connection's byte stream, plain TCP or TLS over TCP, chosen when it is made.
// It is an Asio AsyncReadStream and AsyncWriteStream, so Beast's HTTP reads and writes
// take it as they take a tcp_stream, and the HTTP code is the same with or without TLS.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "mcp/asio.h"

namespace sluice::mcp {

class HttpStream {
 public:
  using executor_type = asio::any_io_executor;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // A connected or accepted socket; with `tls`, TLS runs over it once handshaken.
  HttpStream(asio::ip::tcp::socket socket, asio::ssl::context* tls);
  // Not connected yet; with `tls`, TLS runs over the connection once made and handshaken.
  HttpStream(const executor_type& executor, asio::ssl::context* tls);

  [[nodiscard]] executor_type get_executor() { return tcp().get_executor(); }
  [[nodiscard]] boost::beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  // nullptr for plain TCP.
  [[nodiscard]] TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  void expires_after(std::chrono::steady_clock::duration timeout) { tcp().expires_after(timeout); }
  void expires_never() { tcp().expires_never(); }
  // Half-closes the TCP connection (the TLS session is not shut down first: an HTTP
  // response is framed by its own length or chunks, not by close_notify).
  void shutdown_send();

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& to) {
          if (tls_) {
            tls_->async_read_some(to, std::move(handler));
          } else {
            plain_->async_read_some(to, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& from) {
          if (tls_) {
            tls_->async_write_some(from, std::move(handler));
          } else {
            plain_->async_write_some(from, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
};

}  // namespace sluice::mcp
