#include "mcp/http_stream.h"

namespace sluice::mcp {

HttpStream::HttpStream(asio::ip::tcp::socket socket, asio::ssl::context* tls) {
  if (tls != nullptr) {
    tls_.emplace(std::move(socket), *tls);
  } else {
    plain_.emplace(std::move(socket));
  }
}

HttpStream::HttpStream(const executor_type& executor, asio::ssl::context* tls) {
  if (tls != nullptr) {
    tls_.emplace(executor, *tls);
  } else {
    plain_.emplace(executor);
  }
}

void HttpStream::shutdown_send() {
  boost::system::error_code ignored;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace sluice::mcp
