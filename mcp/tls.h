// TLS for the Streamable HTTP transports (OpenSSL 3 through Asio): the listener's
// server context, and a client context and handshake that verify the server's
// certificate chain and host name, with an error that says which check failed.
#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>

#include "mcp/http_stream.h"

namespace sluice::mcp {

// Whether `host` is an IPv4 or IPv6 address rather than a name: certificates name the
// two differently, and SNI carries names only.
bool is_ip_address(const std::string& host);

// TLS 1.2 or later with the certificate chain and private key in these PEM files.
// Throws std::runtime_error naming the file that cannot be used.
asio::ssl::context tls_server_context(const std::string& certificate_file, const std::string& key_file);

// TLS 1.2 or later, verifying peers against the CA certificates in `ca_file` (PEM),
// or the system's when it is empty. Throws std::runtime_error naming a bad file.
asio::ssl::context tls_client_context(const std::string& ca_file);

// The client's handshake on a connected stream: SNI for a host name, and the
// certificate must be valid for `host`. Returns an empty string, or why it failed
// ("certificate verify failed: unable to get local issuer certificate").
asio::awaitable<std::string> tls_client_handshake(HttpStream::TlsStream& stream, const std::string& host);

}  // namespace sluice::mcp
