#include "kube/rest_client.h"

#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "mcp/tls.h"

namespace sluice::kube {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct ServerUrl {
  std::string host;
  std::string port;
  std::string prefix;
};

ServerUrl parse_server(const std::string& server) {
  constexpr std::string_view scheme = "https://";
  if (server.rfind(scheme, 0) != 0) throw KubeconfigError("server \"" + server + "\": expected an https:// URL");
  std::string_view rest = std::string_view(server).substr(scheme.size());
  const auto slash = rest.find('/');
  ServerUrl url;
  if (slash != std::string_view::npos) {
    url.prefix = std::string(rest.substr(slash));
    while (!url.prefix.empty() && url.prefix.back() == '/') url.prefix.pop_back();
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw KubeconfigError("server \"" + server + "\": unterminated IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    url.port = rest.size() > 1 && rest.front() == ':' ? std::string(rest.substr(1)) : "443";
  } else {
    const auto colon = rest.rfind(':');
    url.host = std::string(rest.substr(0, colon));
    url.port = colon == std::string_view::npos ? "443" : std::string(rest.substr(colon + 1));
  }
  if (url.host.empty()) throw KubeconfigError("server \"" + server + "\": no host");
  return url;
}

std::string seconds_text(std::chrono::milliseconds duration) {
  return std::to_string(static_cast<double>(duration.count()) / 1000.0).substr(0, 4) + " s";
}

struct Connection {
  Connection(const asio::any_io_executor& executor, ssl::context& tls) : stream(executor, tls) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  SteadyClock::time_point last_used = SteadyClock::now();
};

}  // namespace

struct RestClient::Impl {
  asio::any_io_executor executor;
  ClusterCredentials credentials;
  RestClientOptions options;
  ServerUrl url;
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::unique_ptr<Connection>> idle;
  SteadyClock::time_point token_read = SteadyClock::now();

  Impl(const asio::any_io_executor& io, ClusterCredentials given, RestClientOptions chosen)
      : executor(io), credentials(std::move(given)), options(chosen), url(parse_server(credentials.server)) {
    tls.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    try {
      if (credentials.insecure_skip_tls_verify) {
        spdlog::warn(
            "insecure-skip-tls-verify is set for {} in {}: the API server's certificate is NOT verified, anyone on the "
            "path can read and change every request, credentials included",
            credentials.server, credentials.source);
        tls.set_verify_mode(ssl::verify_none);
      } else {
        if (credentials.certificate_authority_pem.empty()) {
          tls.set_default_verify_paths();
        } else {
          tls.add_certificate_authority(asio::buffer(credentials.certificate_authority_pem));
        }
        tls.set_verify_mode(ssl::verify_peer);
      }
    } catch (const boost::system::system_error& error) {
      throw KubeconfigError(credentials.source + ": certificate authority of context " + credentials.context +
                            " is not a usable PEM certificate: " + error.code().message());
    }
    if (!credentials.client_certificate_pem.empty()) {
      try {
        tls.use_certificate_chain(asio::buffer(credentials.client_certificate_pem));
        tls.use_private_key(asio::buffer(credentials.client_key_pem), ssl::context::pem);
      } catch (const boost::system::system_error& error) {
        throw KubeconfigError(credentials.source + ": client certificate or key of context " + credentials.context +
                              " is not usable: " + error.code().message());
      }
    }
  }

  // The kubelet rotates service-account tokens in their file; like client-go, read it
  // again once a minute, and keep the last good token if the file is briefly unreadable.
  const std::string& bearer_token() {
    if (!credentials.bearer_token_file.empty() && SteadyClock::now() - token_read > std::chrono::minutes(1)) {
      token_read = SteadyClock::now();
      try {
        credentials.bearer_token = read_token_file(credentials.bearer_token_file, "bearer token file");
      } catch (const KubeconfigError& error) {
        spdlog::warn("keeping the previous token: {}", error.what());
      }
    }
    return credentials.bearer_token;
  }

  std::string where() const { return "the Kubernetes API at " + credentials.server; }

  std::unique_ptr<Connection> take_idle() {
    while (!idle.empty()) {
      auto connection = std::move(idle.back());
      idle.pop_back();
      if (SteadyClock::now() - connection->last_used < options.max_idle) return connection;
    }
    return nullptr;
  }

  asio::awaitable<std::unique_ptr<Connection>> connect() {
    auto connection = std::make_unique<Connection>(executor, tls);
    auto& socket = beast::get_lowest_layer(connection->stream);
    boost::system::error_code ec;
    tcp::resolver resolver(executor);
    const auto endpoints =
        co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw TransportError("cannot reach " + where() + ": resolving " + url.host + ": " + ec.message());
    socket.expires_after(options.connect_timeout);
    co_await socket.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) {
      throw TransportError("cannot reach " + where() + ": no connection within " + seconds_text(options.connect_timeout));
    }
    if (ec) throw TransportError("cannot reach " + where() + ": " + ec.message());
    if (!credentials.insecure_skip_tls_verify) {
      connection->stream.set_verify_callback(ssl::host_name_verification(url.host));
    }
    if (!mcp::is_ip_address(url.host)) {
      // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
      SSL_ctrl(connection->stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(url.host.c_str()));
    }
    co_await connection->stream.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) {
      throw TransportError("TLS handshake with " + where() + " timed out after " + seconds_text(options.connect_timeout));
    }
    if (ec) {
      const long verify = SSL_get_verify_result(connection->stream.native_handle());
      const std::string reason = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
      throw TransportError("TLS handshake with " + where() + " failed: " + reason);
    }
    co_return connection;
  }

  asio::awaitable<RestResponse> request(std::string method, std::string target, std::string body,
                                        std::string content_type, std::string accept) {
    const http::verb verb = http::string_to_verb(method);
    for (int attempt = 0;; ++attempt) {
      auto connection = take_idle();
      const bool reused = connection != nullptr;
      if (!connection) connection = co_await connect();
      http::request<http::string_body> message{verb, url.prefix + target, 11};
      message.set(http::field::host, url.host);
      message.set(http::field::user_agent, "sluice-kube");
      message.set(http::field::accept, accept);
      if (const auto& token = bearer_token(); !token.empty()) message.set(http::field::authorization, "Bearer " + token);
      if (!content_type.empty()) message.set(http::field::content_type, content_type);
      message.body() = body;
      message.keep_alive(true);
      message.prepare_payload();

      auto& socket = beast::get_lowest_layer(connection->stream);
      socket.expires_after(options.request_timeout);
      boost::system::error_code ec;
      co_await http::async_write(connection->stream, message, asio::redirect_error(asio::use_awaitable, ec));
      const bool write_failed = static_cast<bool>(ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(options.max_response_bytes);
      if (!ec) co_await http::async_read(connection->stream, connection->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        // A kept-alive connection the server closed while it sat idle fails at once
        // and without a byte of response: the request never reached it.
        const bool stale = reused && attempt == 0 && ec != beast::error::timeout && !parser.got_some() &&
                           (write_failed || verb == http::verb::get);
        if (stale) continue;
        if (ec == beast::error::timeout) {
          throw TransportError("no response from " + where() + " within " + seconds_text(options.request_timeout) +
                               " (" + method + " " + target + ")");
        }
        if (ec == http::error::body_limit) {
          throw TransportError("the response from " + where() + " is larger than " +
                               std::to_string(options.max_response_bytes >> 20) + " MiB (" + std::string(method) + " " +
                               target + ")");
        }
        throw TransportError("lost the connection to " + where() + ": " + ec.message());
      }
      auto& response = parser.get();
      RestResponse result{static_cast<int>(response.result_int()), std::string(response[http::field::content_type]),
                          std::move(response.body())};
      if (response.keep_alive() && idle.size() < options.max_idle_connections) {
        connection->last_used = SteadyClock::now();
        idle.push_back(std::move(connection));
      }
      co_return result;
    }
  }
};

RestClient::RestClient(const asio::any_io_executor& executor, ClusterCredentials credentials, RestClientOptions options)
    : impl_(std::make_unique<Impl>(executor, std::move(credentials), options)) {}

RestClient::~RestClient() = default;

// Not a coroutine itself: GCC 12 destroys by-value coroutine parameters that took
// their default argument twice, so the defaults stay on this forwarding call.
asio::awaitable<RestResponse> RestClient::request(std::string_view method, std::string target, std::string body,
                                                  std::string content_type, std::string accept) {
  return impl_->request(std::string(method), std::move(target), std::move(body), std::move(content_type),
                        std::move(accept));
}

const ClusterCredentials& RestClient::credentials() const { return impl_->credentials; }

}  // namespace sluice::kube
