#include "mcp/http_listener.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "mcp/digest.h"
#include "mcp/http_stream.h"
#include "mcp/protocol_era.h"
#include "mcp/request_headers.h"
#include "mcp/sse.h"
#include "mcp/tls.h"

namespace sluice::mcp {
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr const char* session_header = "Mcp-Session-Id";
constexpr std::string_view version_header = protocol_version_header;
constexpr const char* last_event_header = "Last-Event-ID";
// How long a kept-alive connection may sit between requests, and how long one write
// may take before the client counts as gone.
constexpr auto idle_connection = std::chrono::seconds(60);
constexpr auto tls_handshake_deadline = std::chrono::seconds(10);
constexpr auto write_deadline = std::chrono::seconds(30);
// How long a POST whose client accepts JSON waits for an answer with nothing before it
// before it opens an SSE stream (and sends the priming event) instead.
constexpr auto json_answer_window = std::chrono::milliseconds(50);
// After refusing a request that was not read to its end, Sluice reads and drops what
// the client still sends (this long, this much) before closing: closing with unread
// bytes resets the connection, and the client may lose the answer with it.
constexpr auto linger_deadline = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = std::size_t{1} << 20;
// Waits between attempts when accept fails (out of file descriptors, say), doubling.
constexpr auto accept_retry_first = std::chrono::milliseconds(5);
constexpr auto accept_retry_last = std::chrono::seconds(1);

constexpr std::array<std::string_view, 4> known_versions = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                            "2025-11-25"};

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

bool contains_ci(std::string_view text, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (iequals_prefix(text.substr(i), needle)) return true;
  }
  return false;
}

std::string_view header(const Request& request, std::string_view name) {
  const auto found = request.find(beast::string_view(name.data(), name.size()));
  if (found == request.end()) return {};
  const auto value = found->value();
  return {value.data(), value.size()};
}

bool has_header(const Request& request, std::string_view name) {
  return request.find(beast::string_view(name.data(), name.size())) != request.end();
}

// The host part of a Host header: "127.0.0.1:8765" -> "127.0.0.1", "[::1]:80" -> "[::1]".
std::string_view host_name(std::string_view host) {
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  return host.substr(0, host.find(':'));
}

bool is_loopback_name(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

Response plain(const Request& request, http::status status) {
  Response response(status, request.version());
  response.set(http::field::server, "sluice");
  response.keep_alive(request.keep_alive());
  return response;
}

// An HTTP error with a JSON-RPC error body, as MCP servers send them: without an id,
// or with the id of the request it answers (2026-07-28 errors), and `data` if given.
Response rpc_error(const Request& request, http::status status, int code, std::string_view message,
                   const json& id = nullptr, const json& data = nullptr) {
  auto response = plain(request, status);
  response.set(http::field::content_type, "application/json");
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  response.body() = json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}}.dump();
  response.prepare_payload();
  return response;
}

constexpr int invalid_params = -32602;
constexpr int method_not_found = -32601;

// -32022 with what Sluice serves and what the client asked for. (Built outside the
// coroutine: GCC cannot keep an initializer list's array in a coroutine frame.)
Response unsupported_version(const Request& request, const json& id, const json& requested) {
  json data = json::object();
  data["supported"] = json::array();
  data["supported"].push_back(modern_protocol_version);
  data["requested"] = requested;
  return rpc_error(request, http::status::bad_request, unsupported_protocol_version,
                   "Unsupported protocol version " + requested.dump(), id, data);
}

// A 2026-07-28 request or notification: `server/discover`, or one that claims the
// version in `_meta` (mcp/protocol_era.h). Responses and batches belong to no era.
bool is_modern(const Parsed& parsed) {
  const auto* message = std::get_if<Message>(&parsed);
  if (message == nullptr || message->is_response()) return false;
  const bool claims_modern = modern_envelope(*message).contains(protocol_version_meta_key);
  // An `initialize` that names no version of its own but claims 2026-07-28 in `_meta`
  // is a modern request of a method that revision removed (404), not a 2025 session.
  if (message->is_request() && message->method() == "initialize") {
    return claims_modern && !message->params().contains("protocolVersion");
  }
  if (message->is_request()) return era_of_opening(*message) == ProtocolEra::modern;
  return claims_modern;
}

// Why a modern request's headers do not mirror its body, or "" when they do. Every
// header the body calls for must be there with the same value (decoded), and an
// Mcp-Param-* header the tool's schema does not declare is refused: it claims an
// argument the body does not carry. A tool Sluice has not seen listed is checked for
// the headers it can know.
std::string header_mismatch_of(const Request& request, const Message& message, const ToolHeaderMap& tools) {
  const auto expected = mirrored_headers(message, tools);
  for (const auto& want : expected) {
    if (!has_header(request, want.name)) return "the " + want.name + " header is required";
    const auto value = decode_header_value(header(request, want.name));
    if (!value) return "the " + want.name + " header is not valid =?base64?...?=";
    if (*value != want.text) {
      // A decoded header is any bytes: json_quoted does not throw on ill-formed UTF-8.
      return "the " + want.name + " header says " + json_quoted(*value) + ", the body " + json_quoted(want.text);
    }
  }
  const auto& params = message.params();
  const bool described = message.method() == "tools/call" && params.is_object() && params.contains("name") &&
                         params["name"].is_string() && tools.bindings(params["name"].get_ref<const std::string&>());
  if (!described) return {};
  for (const auto& field : request) {
    const auto name = std::string_view(field.name_string().data(), field.name_string().size());
    if (!iequals_prefix(name, param_header_prefix)) continue;
    const bool wanted = std::any_of(expected.begin(), expected.end(), [&](const MirroredHeader& want) {
      return want.name.size() == name.size() && iequals_prefix(name, want.name);
    });
    if (!wanted) return "the " + std::string(name) + " header names no argument of this call";
  }
  return {};
}

// On 2026-07-28 HTTP some errors carry an HTTP status of their own, so that a client
// tells a modern server's refusal from a 2025 server's 404 or 400: an unknown method is
// 404, a request the server cannot take as sent (headers, client capabilities, version)
// 400. Whoever made the error (the upstream, or Sluice), the status says the same.
http::status modern_answer_status(std::string_view answer) {
  if (answer.find("\"error\"") == std::string_view::npos) return http::status::ok;
  const auto body = json::parse(answer, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return http::status::ok;
  const auto& code = body["error"]["code"];
  if (!code.is_number_integer()) return http::status::ok;
  switch (code.get<long long>()) {
    case method_not_found: return http::status::not_found;
    case header_mismatch:
    case missing_client_capability:
    case unsupported_protocol_version: return http::status::bad_request;
    default: return http::status::ok;
  }
}

struct ListenAddress {
  std::string host;
  unsigned short port = 0;
};

ListenAddress split_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    throw std::invalid_argument("listen address \"" + address + "\": expected HOST:PORT, such as 127.0.0.1:8765");
  }
  ListenAddress out;
  out.host = address.substr(0, colon);
  if (out.host.starts_with('[') && out.host.ends_with(']')) out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host == "localhost") out.host = "127.0.0.1";
  const auto digits = std::string_view(address).substr(colon + 1);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    throw std::invalid_argument("listen address \"" + address + "\": the port must be a number from 0 to 65535");
  }
  return out;
}

tcp::endpoint resolve_endpoint(const std::string& address) {
  const auto parts = split_address(address);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(parts.host, ec);
  if (ec) {
    throw std::invalid_argument("listen address \"" + address +
                                "\": the host must be an IP address (or localhost), such as 127.0.0.1 or [::1]");
  }
  return {ip, parts.port};
}

}  // namespace

// One client connection: reads requests one after another; a POST or GET that opens
// an SSE stream keeps the connection until the stream ends.
class HttpListener::Connection {
 public:
  Connection(HttpListener& listener, tcp::socket socket)
      : listener_(listener),
        open_connections_(listener.open_connections_),
        stream_(std::move(socket), listener.tls_ ? &*listener.tls_ : nullptr) {
    ++*open_connections_;
  }
  ~Connection() { --*open_connections_; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  asio::awaitable<void> run() {
    if (auto* tls = stream_.tls()) {
      boost::system::error_code ec;
      stream_.expires_after(tls_handshake_deadline);
      co_await tls->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        spdlog::debug("http: TLS handshake failed: {}", ec.message());
        co_return;
      }
    }
    beast::flat_buffer buffer;
    while (!listener_.stopped_) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(listener_.options_.max_header_bytes));
      parser.body_limit(listener_.options_.max_body_bytes);
      if (const auto ec = co_await read_request(buffer, parser)) {
        co_await refuse(parser, ec);
        co_return;
      }
      auto request = parser.release();
      const bool keep_alive = co_await handle(request);
      if (!keep_alive || !request.keep_alive()) break;
    }
    stream_.shutdown_send();
  }

 private:
  using RequestParser = http::request_parser<http::string_body>;

  // Reads one request: its first byte within idle_connection, the rest of its head
  // within header_timeout and its body within body_timeout; a deadline that passes
  // closes the connection (beast::error::timeout).
  asio::awaitable<boost::system::error_code> read_request(beast::flat_buffer& buffer, RequestParser& parser) {
    const auto& options = listener_.options_;
    boost::system::error_code ec;
    if (buffer.size() == 0) {
      stream_.expires_after(idle_connection);
      const auto read = co_await stream_.async_read_some(buffer.prepare(first_read_bytes),
                                                         asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
      buffer.commit(read);
    }
    stream_.expires_after(options.header_timeout);
    parser.eager(true);
    bool body_timed = false;
    while (!parser.is_done()) {
      if (!body_timed && parser.is_header_done()) {
        stream_.expires_after(options.body_timeout);
        body_timed = true;
      }
      make_room(buffer);
      co_await http::async_read_some(stream_, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
    }
    stream_.expires_never();
    co_return ec;
  }

  // Room in the buffer for what the socket holds already. Beast reads into the buffer's
  // free capacity (at least 512 bytes, at most 64 KiB), and the buffer grows by
  // doubling, so a 1 KiB request took three reads and a 1 MiB one over twenty, each a
  // pass of the loop and a timer armed. The room is only for bytes that have arrived:
  // a client that announces a large body and sends nothing holds no memory for it.
  void make_room(beast::flat_buffer& buffer) {
    boost::system::error_code ec;
    const auto waiting = stream_.tcp().socket().available(ec);
    if (!ec && waiting > buffer.capacity() - buffer.size()) buffer.reserve(buffer.size() + waiting);
  }

  // Answers a request that could not be read, and closes: 431, 413 or 400 for what
  // the parser refused (oversized head or body, bad chunking, malformed HTTP); nothing
  // for a client that went away or ran out of time.
  asio::awaitable<void> refuse(const RequestParser& parser, boost::system::error_code ec) {
    const auto& options = listener_.options_;
    const auto& request = parser.get();
    if (ec == http::error::header_limit) {
      co_await write(rpc_error(request, http::status::request_header_fields_too_large, -32600,
                               "Request header fields over the limit of " + std::to_string(options.max_header_bytes) +
                                   " bytes"),
                     false);
    } else if (ec == http::error::body_limit) {
      co_await write(rpc_error(request, http::status::payload_too_large, -32600,
                               "Request body over the limit of " + std::to_string(options.max_body_bytes) + " bytes"),
                     false);
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      co_await write(rpc_error(request, http::status::bad_request, -32600, "Bad Request: malformed HTTP (" + ec.message() + ")"),
                     false);
    } else {
      co_return;
    }
    co_await discard_until_closed();
  }

  asio::awaitable<void> discard_until_closed() {
    stream_.shutdown_send();
    stream_.expires_after(linger_deadline);
    std::array<char, 16384> sink{};
    std::size_t dropped = 0;
    boost::system::error_code ec;
    while (!ec && dropped < linger_bytes) {
      dropped += co_await stream_.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    }
    stream_.expires_never();
  }

  // Returns whether the connection can take another request.
  asio::awaitable<bool> handle(Request& request) {
    const auto& options = listener_.options_;
    const auto target = std::string_view(request.target().data(), request.target().size());
    if (target.substr(0, target.find('?')) != options.path) {
      co_return co_await write(rpc_error(request, http::status::not_found, -32600, "Not found: the MCP endpoint is " + options.path));
    }
    // DNS rebinding: a page on evil.example that resolves its name to 127.0.0.1 still
    // sends its own name as Host.
    if (listener_.loopback_ && !is_loopback_name(host_name(header(request, "Host")))) {
      co_return co_await write(rpc_error(request, http::status::forbidden, -32600, "Forbidden: Host is not a loopback name"));
    }
    if (has_header(request, "Origin")) {
      const auto origin = header(request, "Origin");
      if (!options.origin_allowed || !options.origin_allowed(origin)) {
        spdlog::warn("http: refused a request from Origin {}", json(std::string(origin)).dump());
        co_return co_await write(rpc_error(request, http::status::forbidden, -32600, "Forbidden: Origin not allowed"));
      }
    }
    auto principal = authenticate(request);
    if (!principal) {
      auto response = rpc_error(request, http::status::unauthorized, -32600, "Unauthorized: a valid bearer token is required");
      response.set(http::field::www_authenticate, "Bearer realm=\"sluice\"");
      co_return co_await write(std::move(response));
    }
    switch (request.method()) {
      case http::verb::post: co_return co_await post(request, *principal);
      case http::verb::get: co_return co_await get(request, *principal);
      case http::verb::delete_: co_return co_await remove(request, *principal);
      default: {
        auto response = rpc_error(request, http::status::method_not_allowed, -32600, "Method not allowed");
        response.set(http::field::allow, "GET, POST, DELETE");
        co_return co_await write(std::move(response));
      }
    }
  }

  [[nodiscard]] std::optional<std::string> authenticate(const Request& request) const {
    const auto& tokens = listener_.options_.tokens;
    if (tokens.empty()) return std::string("anonymous");
    const auto authorization = header(request, "Authorization");
    if (!iequals_prefix(authorization, "Bearer ")) return std::nullopt;
    const auto digest = sha256(authorization.substr(7));
    // Every configured token is compared, in constant time, whichever matches.
    const BearerToken* match = nullptr;
    for (const auto& token : tokens) {
      const bool equal = token.sha256.size() == digest.size() &&
                         CRYPTO_memcmp(token.sha256.data(), digest.data(), digest.size()) == 0;
      if (equal) match = &token;
    }
    if (match == nullptr) return std::nullopt;
    return match->principal;
  }

  // The session a request names: nullptr after the error response was written.
  asio::awaitable<std::shared_ptr<HttpServerSession>> named_session(const Request& request, const std::string& principal) {
    const auto id = header(request, session_header);
    if (id.empty()) {
      co_await write(rpc_error(request, http::status::bad_request, -32600, "Bad Request: Mcp-Session-Id header is required"));
      co_return nullptr;
    }
    const auto found = listener_.sessions_.find(std::string(id));
    if (found == listener_.sessions_.end()) {
      co_await write(rpc_error(request, http::status::not_found, -32600, "Session not found; initialize a new one"));
      co_return nullptr;
    }
    if (found->second->principal() != principal) {
      co_await write(rpc_error(request, http::status::forbidden, -32600, "Forbidden: the session belongs to another principal"));
      co_return nullptr;
    }
    found->second->touch();
    co_return found->second;
  }

  asio::awaitable<bool> post(Request& request, const std::string& principal) {
    const auto accept = header(request, "Accept");
    const bool sse = contains_ci(accept, "text/event-stream");
    if (!sse && !contains_ci(accept, "application/json") && !contains_ci(accept, "*/*")) {
      co_return co_await write(rpc_error(request, http::status::not_acceptable, -32600,
                                         "Not Acceptable: accept application/json and text/event-stream"));
    }
    if (!iequals_prefix(header(request, "Content-Type"), "application/json")) {
      co_return co_await write(rpc_error(request, http::status::unsupported_media_type, -32600,
                                         "Unsupported Media Type: the body must be application/json"));
    }
    const auto body_bytes = request.body().size();
    auto parsed = parse_frame(std::move(request.body()), listener_.options_.parse_limits);
    if (const auto* malformed = std::get_if<Malformed>(&parsed)) {
      auto response = plain(request, http::status::bad_request);
      response.set(http::field::content_type, "application/json");
      response.body() = error_response(*malformed).wire();
      response.prepare_payload();
      co_return co_await write(std::move(response));
    }
    if (!has_header(request, session_header) && is_modern(parsed) && listener_.options_.on_modern_request) {
      co_return co_await post_modern(request, principal, std::get<Message>(std::move(parsed)), body_bytes, sse);
    }
    const auto summary = summarize_post(parsed);
    std::shared_ptr<HttpServerSession> session;
    bool created = false;
    if (!has_header(request, session_header)) {
      if (!summary.initialize || summary.batch) {
        co_return co_await write(rpc_error(request, http::status::bad_request, -32600,
                                           "Bad Request: no Mcp-Session-Id; a session starts with an initialize request"));
      }
      session = co_await new_session(request, principal);
      if (!session) co_return true;
      created = true;
    } else {
      session = co_await named_session(request, principal);
      if (!session) co_return true;
      if (summary.initialize) {
        co_return co_await write(rpc_error(request, http::status::bad_request, -32600, "Bad Request: the session is already initialized"));
      }
      const auto version = header(request, version_header);
      const bool known = std::find(known_versions.begin(), known_versions.end(), version) != known_versions.end();
      // Any revision Sluice knows passes, as in the SDK servers: MCP asks for 400 only for
      // an invalid or unsupported one, and real clients send an older one after init.
      if (has_header(request, version_header) && !known) {
        co_return co_await write(rpc_error(request, http::status::bad_request, -32600,
                                           "Bad Request: unsupported MCP-Protocol-Version " + json(std::string(version)).dump()));
      }
      // Batches were part of 2025-03-26 only; later servers drop them.
      if (summary.batch && session->protocol_version() != "2025-03-26") {
        co_return co_await write(rpc_error(request, http::status::bad_request, -32600,
                                           "Bad Request: JSON-RPC batches are not part of MCP after 2025-03-26"));
      }
    }
    auto stream = session->post(std::move(parsed), body_bytes, summary, !sse);
    if (!stream) {
      auto response = plain(request, http::status::accepted);
      response.set(session_header, session->id());
      response.prepare_payload();
      co_return co_await write(std::move(response));
    }
    if (created) spdlog::info("http session {}: opened for principal {}", session->id(), session->principal());
    // A client that accepts both gets the answer as JSON when it comes soon and with
    // nothing before it: one write, where the SSE stream takes a header, the priming
    // event, the answer and the last chunk. Anything else on the way, or an answer that
    // takes longer, opens the stream as before.
    if (sse && !stream->json_answer() && (contains_ci(accept, "application/json") || contains_ci(accept, "*/*"))) {
      co_await stream->changed().wait_for([&] { return stream->finished() || stream->carried_several(); },
                                          json_answer_window);
      if (stream->finished() && stream->has_sole_message()) {
        session->touch();
        co_return co_await write_json(request, *session, stream->take_sole_message());
      }
    }
    co_return co_await serve(request, *session, stream, stream->first_unwritten());
  }

  // One 2026-07-28 request: checked (the version, then the headers against the body),
  // then run as a session of its own that ends with its answer or with the client.
  asio::awaitable<bool> post_modern(Request& request, const std::string& principal, Message message,
                                    std::size_t body_bytes, bool sse) {
    if (message.is_notification()) {
      // Nothing a 2026-07-28 client notifies over HTTP has a receiver: there is no
      // session, and cancelling is closing the request's stream.
      auto response = plain(request, http::status::accepted);
      response.prepare_payload();
      co_return co_await write(std::move(response));
    }
    const auto envelope = modern_envelope(message);
    const auto version = envelope.find(protocol_version_meta_key);
    if (version == envelope.end() || !version->is_string() || !envelope.contains(client_capabilities_meta_key)) {
      co_return co_await write(rpc_error(request, http::status::bad_request, invalid_params,
                                         "Invalid params: _meta must carry " + std::string(protocol_version_meta_key) +
                                             " and " + std::string(client_capabilities_meta_key),
                                         message.id()));
    }
    // Headers before the version, as the SDK's servers do: a body claiming a version its
    // MCP-Protocol-Version header does not is a mismatch, whatever either says.
    if (const auto mismatch = header_mismatch_of(request, message, listener_.tool_headers_); !mismatch.empty()) {
      spdlog::warn("http: refused a 2026-07-28 {} from {}: {}", message.method(), principal, mismatch);
      co_return co_await write(
          rpc_error(request, http::status::bad_request, header_mismatch, "Header mismatch: " + mismatch, message.id()));
    }
    if (version->get_ref<const std::string&>() != modern_protocol_version) {
      co_return co_await write(unsupported_version(request, message.id(), *version));
    }
    // A request already on its way when Sluice began to stop: nothing new starts now.
    if (listener_.stopped_) {
      co_return co_await write(rpc_error(request, http::status::service_unavailable, -32603,
                                         "Service Unavailable: the server is shutting down", message.id()));
    }
    if (listener_.modern_requests_.size() >= listener_.options_.max_sessions) {
      co_return co_await write(rpc_error(request, http::status::service_unavailable, -32603,
                                         "Service Unavailable: the limit of " +
                                             std::to_string(listener_.options_.max_sessions) +
                                             " 2026-07-28 requests at once is reached",
                                         message.id()));
    }
    auto session = std::make_shared<HttpServerSession>(listener_.executor_, principal, listener_.options_.session_limits,
                                                       HttpSessionShape::modern_request, &listener_.tool_headers_);
    std::string failure;
    try {
      listener_.options_.on_modern_request(session);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      spdlog::error("http: could not relay a 2026-07-28 request: {}", failure);
      co_return co_await write(rpc_error(request, http::status::bad_gateway, -32603, "Bad Gateway: " + failure, message.id()));
    }
    Parsed parsed = std::move(message);
    const auto summary = summarize_post(parsed);
    auto stream = session->post(std::move(parsed), body_bytes, summary, !sse);
    listener_.modern_requests_.insert(session.get());
    const auto watch = std::make_shared<HangupWatch>(listener_.executor_);
    asio::co_spawn(listener_.executor_, watch_hangup(watch, session), asio::detached);
    bool keep = co_await answer_modern(request, *session, stream);
    watch->stopping = true;
    boost::system::error_code ignored;
    stream_.tcp().socket().cancel(ignored);
    while (!watch->done) co_await watch->ended.wait();
    listener_.modern_requests_.erase(session.get());
    session->close();
    co_return keep && !watch->hung_up;
  }

  // A modern request's answer is JSON when the response is all there is, and a stream
  // once anything (progress, a log message) comes before it, for a client that takes both.
  asio::awaitable<bool> answer_modern(const Request& request, HttpServerSession& session,
                                      const std::shared_ptr<ServerStream>& stream) {
    while (!stream->json_answer() && stream->next_seq() == stream->first_held() && !stream->finished()) {
      co_await stream->changed().wait();
    }
    if (stream->json_answer() || !stream->finished() || !stream->has_sole_message()) {
      co_return co_await serve(request, session, stream, stream->first_held());
    }
    co_return co_await write_json(request, session, stream->take_sole_message());
  }

  // Whether the client of a modern request hung up while it waited for the answer.
  struct HangupWatch {
    explicit HangupWatch(const asio::any_io_executor& executor) : ended(executor) {}
    bool stopping = false;  // the answer is written; the watch ends
    bool hung_up = false;
    bool done = false;
    AsyncEvent ended;
  };

  // MCP 2026-07-28: a client cancels a request by closing its stream. The connection
  // has nothing more to read while the answer is pending, so it turning readable means
  // the client closed it (end of stream), or TLS bytes (its close_notify); plain bytes
  // are a pipelined request, left for the next read. A hang-up ends the session: the
  // proxy withdraws a held call and cancels one in flight upstream.
  asio::awaitable<void> watch_hangup(std::shared_ptr<HangupWatch> watch, std::shared_ptr<HttpServerSession> session) {
    auto& socket = stream_.tcp().socket();
    boost::system::error_code ec;
    co_await socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (!watch->stopping) {
      char byte = 0;
      boost::system::error_code peek;
      const auto peeked = ec ? 0 : socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, peek);
      watch->hung_up = ec || peek || peeked == 0 || stream_.tls() != nullptr;
      if (watch->hung_up) {
        spdlog::info("http: the client of a 2026-07-28 request closed its stream; the request is cancelled");
        session->close();
      }
    }
    watch->done = true;
    watch->ended.notify_all();
  }

  asio::awaitable<std::shared_ptr<HttpServerSession>> new_session(const Request& request, const std::string& principal) {
    if (listener_.stopped_) {
      co_await write(rpc_error(request, http::status::service_unavailable, -32600,
                               "Service Unavailable: the server is shutting down"));
      co_return nullptr;
    }
    if (listener_.sessions_.size() >= listener_.options_.max_sessions) {
      co_await write(rpc_error(request, http::status::service_unavailable, -32600,
                               "Service Unavailable: the limit of " + std::to_string(listener_.options_.max_sessions) +
                                   " sessions is reached"));
      co_return nullptr;
    }
    auto session = std::make_shared<HttpServerSession>(listener_.executor_, principal, listener_.options_.session_limits,
                                                       HttpSessionShape::legacy, &listener_.tool_headers_);
    std::string failure;
    try {
      listener_.on_session_(session);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      spdlog::error("http: could not start an upstream for a new session: {}", failure);
      co_await write(rpc_error(request, http::status::bad_gateway, -32603, "Bad Gateway: " + failure));
      co_return nullptr;
    }
    listener_.sessions_.emplace(session->id(), session);
    co_return session;
  }

  asio::awaitable<bool> get(const Request& request, const std::string& principal) {
    if (!contains_ci(header(request, "Accept"), "text/event-stream")) {
      co_return co_await write(rpc_error(request, http::status::not_acceptable, -32600,
                                         "Not Acceptable: GET opens a text/event-stream"));
    }
    auto session = co_await named_session(request, principal);
    if (!session) co_return true;
    if (!has_header(request, last_event_header)) {
      const auto& standalone = session->standalone();
      co_return co_await serve(request, *session, standalone, standalone->first_unwritten());
    }
    const auto event_id = header(request, last_event_header);
    auto stream = session->stream_of_event(event_id);
    const auto seq = stream ? stream->parse_event_id(event_id) : std::nullopt;
    if (!seq || *seq + 1 < stream->first_held()) {
      co_return co_await write(rpc_error(request, http::status::bad_request, -32600,
                                         "Bad Request: cannot resume from event " + json(std::string(event_id)).dump() +
                                             "; it is no longer held"));
    }
    co_return co_await serve(request, *session, stream, *seq + 1);
  }

  asio::awaitable<bool> remove(const Request& request, const std::string& principal) {
    auto session = co_await named_session(request, principal);
    if (!session) co_return true;
    spdlog::info("http session {}: ended by the client (DELETE)", session->id());
    listener_.end_session(session->id());
    auto response = plain(request, http::status::ok);
    // Content-Length: 0; without it a keep-alive client waits for the connection to close.
    response.prepare_payload();
    co_return co_await write(std::move(response));
  }

  // Writes a stream's events from `seq` on as they come: an SSE response, or for a
  // JSON answer the one message once it is there.
  asio::awaitable<bool> serve(const Request& request, HttpServerSession& session,
                              const std::shared_ptr<ServerStream>& stream, std::uint64_t seq) {
    const auto generation = stream->attach();
    const bool keep = stream->json_answer() ? co_await serve_json(request, session, *stream, generation)
                                            : co_await serve_sse(request, session, *stream, generation, seq);
    stream->detach(generation);
    session.touch();
    co_return keep;
  }

  asio::awaitable<bool> serve_json(const Request& request, HttpServerSession& session, ServerStream& stream,
                                   std::uint64_t /*generation*/) {
    while (!stream.finished()) co_await stream.changed().wait();
    if (stream.next_seq() == stream.first_held()) {
      // Cancelled by the client, or the session ended with nothing to say.
      auto response = plain(request, http::status::accepted);
      if (!session.modern()) response.set(session_header, session.id());
      response.prepare_payload();
      co_return co_await write(std::move(response));
    }
    auto body = stream.message(stream.first_held());
    stream.mark_written(stream.next_seq());
    co_return co_await write_json(request, session, std::move(body));
  }

  asio::awaitable<bool> write_json(const Request& request, const HttpServerSession& session, std::string message) {
    auto response = plain(request, session.modern() ? modern_answer_status(message) : http::status::ok);
    response.set(http::field::content_type, "application/json");
    if (!session.modern()) response.set(session_header, session.id());
    response.body() = std::move(message);
    response.prepare_payload();
    co_return co_await write(std::move(response));
  }

  asio::awaitable<bool> serve_sse(const Request& request, HttpServerSession& session, ServerStream& stream,
                                  std::uint64_t generation, std::uint64_t seq) {
    http::response<http::empty_body> head(http::status::ok, request.version());
    head.set(http::field::server, "sluice");
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    if (!session.modern()) head.set(session_header, session.id());
    head.keep_alive(request.keep_alive());
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer(head);
    boost::system::error_code ec;
    stream_.expires_after(write_deadline);
    co_await http::async_write_header(stream_, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    const auto keepalive = listener_.options_.keepalive_interval;
    while (true) {
      if (stream.generation() != generation) co_return false;  // a newer connection took it over
      if (seq < stream.first_held()) {
        spdlog::warn("http session {}: stream {} lost {} event(s) past its replay window", session.id(), stream.id(),
                     stream.first_held() - seq);
        seq = stream.first_held();
      }
      while (seq < stream.next_seq()) {
        const auto event = stream.event(seq);
        stream_.expires_after(write_deadline);
        co_await asio::async_write(stream_, http::make_chunk(asio::buffer(event)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
        ++seq;
        stream.mark_written(seq);
        if (stream.generation() != generation) co_return false;
      }
      if (stream.finished()) break;
      const bool woke = co_await stream.changed().wait_for(
          [&] { return seq < stream.next_seq() || stream.finished() || stream.generation() != generation; }, keepalive);
      if (!woke) {
        stream_.expires_after(write_deadline);
        co_await asio::async_write(stream_, http::make_chunk(asio::buffer(sse_keepalive())),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
      }
    }
    stream_.expires_after(write_deadline);
    co_await asio::async_write(stream_, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    co_return !ec;
  }

  asio::awaitable<bool> write(Response response, bool keep_alive = true) {
    if (!keep_alive) response.keep_alive(false);
    boost::system::error_code ec;
    stream_.expires_after(write_deadline);
    co_await http::async_write(stream_, response, asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    co_return !ec && response.keep_alive();
  }

  // What an idle connection holds while it waits (Beast's own first read): 10,000
  // idle connections cost 5 MiB of buffers.
  static constexpr std::size_t first_read_bytes = 512;

  HttpListener& listener_;
  std::shared_ptr<std::size_t> open_connections_;
  HttpStream stream_;
};

HttpListener::HttpListener(const asio::any_io_executor& executor, HttpListenerOptions options, SessionHandler on_session)
    : executor_(executor),
      options_(std::move(options)),
      on_session_(std::move(on_session)),
      acceptor_(executor),
      sweep_timer_(executor),
      accept_retry_timer_(executor) {
  const auto endpoint = resolve_endpoint(options_.address);
  loopback_ = endpoint.address().is_loopback();
  if (!options_.tls_certificate_file.empty()) {
    tls_.emplace(tls_server_context(options_.tls_certificate_file, options_.tls_key_file));
  }
  if (!loopback_ && options_.tokens.empty()) {
    throw std::invalid_argument("listen address \"" + options_.address +
                                "\" is not a loopback address; without listen.tokens Sluice only listens on "
                                "127.0.0.1 or [::1]");
  }
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
}

HttpListener::~HttpListener() = default;

std::string HttpListener::url() const {
  const auto endpoint = local_endpoint();
  const auto host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]" : endpoint.address().to_string();
  return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(endpoint.port()) + options_.path;
}

void HttpListener::start() {
  asio::co_spawn(executor_, accept_loop(), asio::detached);
  asio::co_spawn(executor_, expire_idle_sessions(), asio::detached);
}

void HttpListener::stop_accepting() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  sweep_timer_.cancel();
  accept_retry_timer_.cancel();
}

asio::awaitable<void> HttpListener::stop_after_answers(std::chrono::milliseconds grace) {
  stop_accepting();
  const auto undelivered = [this]() -> std::shared_ptr<ServerStream> {
    for (const auto& [id, session] : sessions_) {
      if (auto stream = session->undelivered_answers()) return stream;
    }
    for (auto* request : modern_requests_) {
      if (auto stream = request->undelivered_answers()) return stream;
    }
    return nullptr;
  };
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (const auto stream = undelivered()) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= left.zero() || !co_await stream->changed().wait_for([&] { return stream->delivered(); }, left)) {
      spdlog::warn("http: stopping with answers not written within {} ms", grace.count());
      break;
    }
  }
  stop();
}

void HttpListener::stop() {
  stop_accepting();
  std::vector<std::string> ids;
  for (const auto& [id, session] : sessions_) ids.push_back(id);
  for (const auto& id : ids) end_session(id);
  for (auto* request : modern_requests_) request->close();
}

void HttpListener::end_session(const std::string& id) {
  const auto found = sessions_.find(id);
  if (found == sessions_.end()) return;
  auto session = std::move(found->second);
  sessions_.erase(found);
  session->close();
}

asio::awaitable<void> HttpListener::accept_loop() {
  auto retry = accept_retry_first;
  while (!stopped_) {
    boost::system::error_code ec;
    auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors, say: the pending connection stays queued, so trying
      // again at once would spin; connections that close meanwhile make room.
      spdlog::warn("http: accept failed: {}; trying again in {} ms", ec.message(), retry.count());
      accept_retry_timer_.expires_after(retry);
      co_await accept_retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      retry = std::min<std::chrono::milliseconds>(retry * 2, accept_retry_last);
      continue;
    }
    retry = accept_retry_first;
    if (*open_connections_ >= options_.max_connections) {
      refuse_connection(socket);
      continue;
    }
    at_connection_limit_ = false;
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    asio::co_spawn(executor_, [connection]() { return connection->run(); }, [](const std::exception_ptr& error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("http: a connection failed: {}", e.what());
      }
    });
  }
}

// A connection over the limit gets a 503 written at once (it fits any fresh socket's
// send buffer) and is closed; no coroutine, no buffer is spent on it.
void HttpListener::refuse_connection(tcp::socket& socket) {
  if (!at_connection_limit_) {
    spdlog::warn("http: {} connections are open (listen.limits.max_connections); refusing more with 503",
                 options_.max_connections);
    at_connection_limit_ = true;
  }
  static const std::string body =
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Service Unavailable: too many connections"}})";
  static const std::string response = "HTTP/1.1 503 Service Unavailable\r\nServer: sluice\r\nConnection: close\r\n"
                                      "Content-Type: application/json\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(response), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

asio::awaitable<void> HttpListener::expire_idle_sessions() {
  const auto period = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100), options_.idle_timeout / 4);
  while (!stopped_) {
    sweep_timer_.expires_after(period);
    boost::system::error_code ec;
    co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) co_return;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> idle;
    for (const auto& [id, session] : sessions_) {
      if (!session->busy() && now - session->last_used() > options_.idle_timeout) idle.push_back(id);
    }
    for (const auto& id : idle) {
      spdlog::info("http session {}: idle for over {} ms; ended", id, options_.idle_timeout.count());
      end_session(id);
    }
  }
}

}  // namespace sluice::mcp
