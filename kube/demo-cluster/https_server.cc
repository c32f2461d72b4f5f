#include "kube/demo-cluster/https_server.h"

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace sluice::kube::demo {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr std::size_t kMaxBodyBytes = std::size_t{4} << 20;
constexpr auto kIdleTimeout = 120s;

tcp::endpoint parse_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen: expected HOST:PORT, got \"" + address + "\"");
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address.substr(0, colon), ec);
  if (ec) throw std::runtime_error("--listen: \"" + address.substr(0, colon) + "\" is not an IP address");
  int port = -1;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) throw std::runtime_error("--listen: \"" + address.substr(colon + 1) + "\" is not a port");
  return {ip, static_cast<unsigned short>(port)};
}

// The user a verified client certificate names: CN is the user, each O a group.
Caller caller_of_certificate(SSL* ssl) {
  Caller caller;
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return caller;
  X509_NAME* subject = X509_get_subject_name(certificate);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(entry);
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
    if (nid == NID_commonName) caller.user = text;
    if (nid == NID_organizationName) caller.groups.push_back(text);
  }
  return caller;
}

}  // namespace

struct HttpsServer::Impl {
  asio::io_context& io;
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor;
  std::string viewer_token;
  ApiServer& api;

  Impl(asio::io_context& context, const std::string& address, const ServerCredentials& credentials, ApiServer& server)
      : io(context), acceptor(context, parse_address(address)), viewer_token(credentials.viewer_token), api(server) {
    tls.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    tls.use_certificate_chain(asio::buffer(credentials.pki.server.certificate_pem));
    tls.use_private_key(asio::buffer(credentials.pki.server.private_key_pem), ssl::context::pem);
    tls.add_certificate_authority(asio::buffer(credentials.pki.ca.certificate_pem));
    // A client certificate is asked for but optional: a bearer token also authenticates.
    tls.set_verify_mode(ssl::verify_peer);
    tls.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      asio::co_spawn(io, serve(std::move(socket)), [](const std::exception_ptr& error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          spdlog::warn("connection ended: {}", e.what());
        }
      });
    }
  }

  Caller caller_of(SSL* ssl, const http::request<http::string_body>& request) const {
    Caller caller = caller_of_certificate(ssl);
    if (!caller.user.empty()) return caller;
    const std::string_view authorization(request[http::field::authorization].data(),
                                         request[http::field::authorization].size());
    constexpr std::string_view bearer = "Bearer ";
    if (authorization.size() > bearer.size() && authorization.substr(0, bearer.size()) == bearer &&
        CRYPTO_memcmp(authorization.data() + bearer.size(), viewer_token.data(),
                      std::min(viewer_token.size(), authorization.size() - bearer.size())) == 0 &&
        authorization.size() - bearer.size() == viewer_token.size()) {
      return {kViewerUser, {"system:authenticated"}};
    }
    return caller;
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
    beast::get_lowest_layer(stream).expires_after(30s);
    boost::system::error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBodyBytes);
      parser.header_limit(64 * 1024);
      beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const auto& request = parser.get();
      const std::string method(request.method_string());
      const std::string target(request.target());
      const Caller caller = caller_of(stream.native_handle(), request);
      ApiResponse answer;
      if (caller.user.empty()) {
        answer = {401, "application/json",
                  R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})"};
      } else {
        answer = api.handle({method, target,
                             std::string(request[http::field::content_type]), std::string(request[http::field::accept]),
                             request.body(), caller});
      }
      spdlog::debug("{} {} {} -> {}", caller.user, method, target, answer.status);
      http::response<http::string_body> response{static_cast<http::status>(answer.status), request.version()};
      response.set(http::field::server, "sluice-demo-cluster");
      response.set(http::field::content_type, answer.content_type);
      response.set(http::field::cache_control, "no-cache, private");
      response.keep_alive(request.keep_alive());
      response.body() = std::move(answer.body);
      response.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(30s);
      co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !response.keep_alive()) break;
    }
    beast::get_lowest_layer(stream).expires_after(5s);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
};

HttpsServer::HttpsServer(asio::io_context& io, const std::string& address, const ServerCredentials& credentials,
                         ApiServer& api)
    : impl_(std::make_unique<Impl>(io, address, credentials, api)) {}

HttpsServer::~HttpsServer() = default;

unsigned short HttpsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpsServer::start() { asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached); }

}  // namespace sluice::kube::demo
