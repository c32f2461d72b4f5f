#include "mcp/tls.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/stream_base.hpp>

namespace sluice::mcp {
namespace ssl = asio::ssl;

namespace {

constexpr auto modern_only =
    ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
    ssl::context::no_tlsv1_1;

}  // namespace

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

ssl::context tls_server_context(const std::string& certificate_file, const std::string& key_file) {
  ssl::context context(ssl::context::tls_server);
  context.set_options(modern_only);
  boost::system::error_code ec;
  context.use_certificate_chain_file(certificate_file, ec);
  if (ec) throw std::runtime_error("TLS certificate " + certificate_file + ": " + ec.message());
  context.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw std::runtime_error("TLS key " + key_file + " does not belong to the certificate in " + certificate_file);
  }
  return context;
}

ssl::context tls_client_context(const std::string& ca_file) {
  ssl::context context(ssl::context::tls_client);
  context.set_options(modern_only);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context.set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("the system's CA certificates: " + ec.message());
  } else {
    context.load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("CA certificates " + ca_file + ": " + ec.message());
  }
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

asio::awaitable<std::string> tls_client_handshake(HttpStream::TlsStream& stream, const std::string& host) {
  // OpenSSL checks the name itself during verification, so a mismatch is reported as
  // such ("hostname mismatch", "IP address mismatch") rather than as a bare failure.
  auto* param = SSL_get0_param(stream.native_handle());
  if (is_ip_address(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  boost::system::error_code ec;
  co_await stream.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_return std::string();
  const long verify = SSL_get_verify_result(stream.native_handle());
  co_return verify != X509_V_OK ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
                                : ec.message();
}

}  // namespace sluice::mcp
