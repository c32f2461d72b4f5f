#include "mcp/http_client_transport.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "mcp/async_event.h"
#include "mcp/http_stream.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"
#include "mcp/request_headers.h"
#include "mcp/sse.h"
#include "mcp/tls.h"

namespace sluice::mcp {
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct HttpClientTransport::State {
  State(const asio::any_io_executor& executor_in, HttpUpstreamOptions options_in)
      : executor(executor_in), options(std::move(options_in)), outbound_ready(executor_in), inbound_ready(executor_in) {}

  asio::any_io_executor executor;
  HttpUpstreamOptions options;
  std::string host;
  std::string port;
  std::string target;
  std::optional<asio::ssl::context> tls;  // for https
  std::string session_id;
  std::string protocol_version;
  std::string initialize_id;  // id_key of the initialize request in flight
  std::deque<std::string> outbound;
  AsyncEvent outbound_ready;
  std::deque<Frame> inbound;
  AsyncEvent inbound_ready;
  bool ended = false;
  bool send_closed = false;
  bool get_stream_opened = false;
  // The era the first request sent chose. A modern one is sent only when server/discover
  // found the upstream modern; its POSTs carry the Mcp-* headers of their body, with the
  // Mcp-Param-* annotations of the tools/list results that came back.
  ProtocolEra era = ProtocolEra::undetermined;
  bool upstream_modern = false;
  ToolHeaderMap tool_headers;
  std::unordered_set<std::string> listing_tools;  // id_key of tools/list requests in flight
  std::unordered_set<std::string> listed_for;     // tools called before a list described them
  // Modern: how to abort each request's POST, by id_key; cancelling is closing it.
  std::unordered_map<std::string, std::function<void()>> abort_in_flight;

  void deliver(std::string text) {
    if (ended) return;
    if (!listing_tools.empty()) learn_tools(text);
    Frame frame;
    frame.size = text.size();
    if (text.size() > options.max_message_bytes) {
      frame.kind = Frame::Kind::oversized;
    } else {
      frame.text = std::move(text);
    }
    inbound.push_back(std::move(frame));
    inbound_ready.notify_all();
  }

  void learn_tools(const std::string& text) {
    const auto body = json::parse(text, nullptr, false);
    if (!body.is_object() || !body.contains("id") || body.contains("method")) return;
    if (listing_tools.erase(id_key(body["id"])) == 0 || !body.contains("result")) return;
    tool_headers.learn(body["result"]);
  }

  void end(const std::string& why) {
    if (ended) return;
    if (send_closed) {
      spdlog::debug("upstream {}: {}", options.url, why);
    } else {
      spdlog::error("upstream {}: {}", options.url, why);
    }
    ended = true;
    inbound_ready.notify_all();
    outbound_ready.notify_all();
  }
};

namespace {

using State = HttpClientTransport::State;

struct Url {
  std::string host;
  std::string port;
  std::string target;
  bool tls = false;
};

Url parse_url(const std::string& url) {
  Url out;
  out.tls = url.starts_with("https://");
  const std::string_view scheme = out.tls ? "https://" : "http://";
  if (!url.starts_with(scheme)) {
    throw std::invalid_argument("upstream.url \"" + url + "\": expected http://HOST[:PORT]/PATH or https://…");
  }
  const auto rest = std::string_view(url).substr(scheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  const bool bracketed = authority.starts_with('[');
  if (colon != std::string_view::npos && (!bracketed || colon > authority.find(']'))) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = out.tls ? "443" : "80";
  }
  if (out.host.starts_with('[') && out.host.ends_with(']')) out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) throw std::invalid_argument("upstream.url \"" + url + "\": no host");
  return out;
}

std::string header_value(const http::response_header<>& head, std::string_view name) {
  const auto found = head.find(beast::string_view(name.data(), name.size()));
  return found == head.end() ? std::string() : std::string(found->value());
}

// The code of a JSON-RPC error body, or 0 when it is none (the upstream is hostile too).
int error_code(const json& body) {
  if (!body.is_object()) return 0;
  const auto error = body.find("error");
  if (error == body.end() || !error->is_object()) return 0;
  const auto code = error->find("code");
  return code != error->end() && code->is_number_integer() ? code->get<int>() : 0;
}

// Codes only a 2026-07-28 server gives: HeaderMismatch, MissingRequiredClientCapability,
// UnsupportedProtocolVersion.
bool modern_error(int code) {
  return code == header_mismatch || code == missing_client_capability || code == unsupported_protocol_version;
}

http::request<http::string_body> make_request(const State& state, http::verb verb, std::string body,
                                              const std::vector<MirroredHeader>& mirrored = {}) {
  http::request<http::string_body> request(verb, state.target, 11);
  request.set(http::field::host, state.host + ":" + state.port);
  request.set(http::field::user_agent, "sluice");
  request.set(http::field::accept, verb == http::verb::get ? "text/event-stream" : "application/json, text/event-stream");
  if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
  if (!state.session_id.empty()) request.set("Mcp-Session-Id", state.session_id);
  if (!state.protocol_version.empty()) request.set("MCP-Protocol-Version", state.protocol_version);
  for (const auto& [name, value] : state.options.headers) request.set(name, value);
  for (const auto& header : mirrored) request.set(header.name, encode_header_value(header.text));
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

// One request on its own connection: connects, writes, and reads the answer, which
// may be a long SSE stream.
struct Exchange {
  explicit Exchange(State& state) : stream(state.executor, state.tls ? &*state.tls : nullptr) {}
  HttpStream stream;
  beast::flat_buffer buffer;
  bool aborted = false;  // closed on purpose: a modern request cancelled
};

// Connects (TLS included) and writes the request; returns why it failed, or "".
asio::awaitable<std::string> connect_and_write(const std::shared_ptr<State>& state, Exchange& exchange,
                                               http::request<http::string_body>& request) {
  tcp::resolver resolver(state->executor);
  boost::system::error_code ec;
  const auto endpoints =
      co_await resolver.async_resolve(state->host, state->port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return "cannot resolve " + state->host + ": " + ec.message();
  exchange.stream.expires_after(state->options.connect_timeout);
  co_await exchange.stream.tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return "cannot connect: " + ec.message();
  if (auto* tls = exchange.stream.tls()) {
    if (const auto failure = co_await tls_client_handshake(*tls, state->host); !failure.empty()) {
      co_return "TLS handshake with " + state->host + ":" + state->port + " failed: " + failure;
    }
  }
  co_await http::async_write(exchange.stream, request, asio::redirect_error(asio::use_awaitable, ec));
  exchange.stream.expires_never();
  if (ec) co_return "cannot send a request: " + ec.message();
  co_return std::string();
}

// Where an SSE stream got to, so that a broken one can be picked up again.
struct StreamPosition {
  std::string last_event_id;
  std::optional<std::uint64_t> retry_ms;  // the server's `retry:`
  bool complete = false;                  // the server ended the stream itself
  std::string awaiting;                   // id_key of the request it answers, until answered
};

void note_initialize_result(State& state, const std::string& text) {
  if (state.initialize_id.empty() || state.protocol_version.size() > 0) return;
  const auto body = json::parse(text, nullptr, false);
  if (!body.is_object() || !body.contains("id") || id_key(body["id"]) != state.initialize_id) return;
  const auto& result = body.contains("result") ? body["result"] : json();
  if (result.is_object() && result.contains("protocolVersion") && result["protocolVersion"].is_string()) {
    state.protocol_version = result["protocolVersion"].get<std::string>();
  }
}

// Reads a body as it arrives: each SSE event is delivered at once; any other body is
// collected in `json_body`, up to the message limit.
asio::awaitable<void> read_body(const std::shared_ptr<State>& state, Exchange& exchange,
                                http::response_parser<http::buffer_body>& parser, std::string& json_body,
                                StreamPosition& position) {
  const bool sse = header_value(parser.get().base(), "Content-Type").starts_with("text/event-stream");
  SseDecoder events(state->options.max_message_bytes);
  std::array<char, 16 * 1024> chunk{};
  boost::system::error_code ec;
  while (!parser.is_done() && !state->ended) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    co_await http::async_read_some(exchange.stream, exchange.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return;
    const auto bytes = std::string_view(chunk.data(), chunk.size() - parser.get().body().size);
    if (!sse) {
      if (json_body.size() <= state->options.max_message_bytes) json_body += bytes;
      continue;
    }
    if (!events.feed(bytes)) {
      spdlog::warn("upstream {}: an SSE line over {} bytes; stream dropped", state->options.url,
                   state->options.max_message_bytes);
      co_return;
    }
    if (events.retry_ms()) position.retry_ms = events.retry_ms();
    SseDecoder::Event event;
    while (events.next(event)) {
      if (!event.id.empty()) position.last_event_id = event.id;
      if (event.data.empty()) continue;
      if (!position.awaiting.empty()) {
        const auto body = json::parse(event.data, nullptr, false);
        if (body.is_object() && !body.contains("method") && body.contains("id") && id_key(body["id"]) == position.awaiting) {
          position.awaiting.clear();
        }
      }
      note_initialize_result(*state, event.data);
      state->deliver(std::move(event.data));
    }
  }
  position.complete = parser.is_done();
}

// A response parser whose body may be as long as the stream: messages are limited one by
// one as they are delivered. Not body_limit(boost::none): Boost 1.74 compares a
// Content-Length against the empty optional and refuses every such body.
void unlimited_body(http::response_parser<http::buffer_body>& parser) {
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
}

// Opens a GET stream (with Last-Event-ID to resume one) and reads it to its end or
// until it breaks. Returns why there is no stream, or "".
asio::awaitable<std::string> read_get_stream(const std::shared_ptr<State>& state, StreamPosition& position) {
  auto exchange = std::make_shared<Exchange>(*state);
  auto request = make_request(*state, http::verb::get, {});
  if (!position.last_event_id.empty()) request.set("Last-Event-ID", position.last_event_id);
  if (auto failure = co_await connect_and_write(state, *exchange, request); !failure.empty()) co_return failure;
  http::response_parser<http::buffer_body> parser;
  unlimited_body(parser);
  boost::system::error_code ec;
  co_await http::async_read_header(exchange->stream, exchange->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return "the connection broke before an answer: " + ec.message();
  if (parser.get().result_int() != 200) co_return "HTTP " + std::to_string(parser.get().result_int());
  std::string ignored;
  co_await read_body(state, *exchange, parser, ignored, position);
  co_return std::string();
}

// MCP: a client resumes a broken stream with a GET carrying the last event id it saw,
// after the delay the server set with `retry:`. Up to this many attempts in a row that
// bring no new event; then the stream is given up.
constexpr int max_resume_attempts = 3;
constexpr std::uint64_t default_retry_ms = 1000;
constexpr std::uint64_t max_retry_ms = 30'000;

// Picks up a broken stream where it broke; returns whether it then ended normally.
asio::awaitable<bool> resume_stream(std::shared_ptr<State> state, StreamPosition& position) {
  for (int attempt = 1; attempt <= max_resume_attempts; ++attempt) {
    if (state->ended || position.complete || position.last_event_id.empty()) break;
    asio::steady_timer delay(state->executor,
                             std::chrono::milliseconds(std::min(position.retry_ms.value_or(default_retry_ms), max_retry_ms)));
    boost::system::error_code ec;
    co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->ended) break;
    const auto resumed_from = position.last_event_id;
    spdlog::info("upstream {}: an event stream broke; resuming after event {} (attempt {} of {})", state->options.url,
                 resumed_from, attempt, max_resume_attempts);
    if (const auto failure = co_await read_get_stream(state, position); !failure.empty()) {
      spdlog::warn("upstream {}: resuming after event {} failed: {}", state->options.url, resumed_from, failure);
    }
    if (position.last_event_id != resumed_from) attempt = 0;  // it got further: a new break, a fresh count
  }
  co_return position.complete;
}

asio::awaitable<void> open_get_stream(std::shared_ptr<State> state) {
  StreamPosition position;
  if (const auto failure = co_await read_get_stream(state, position); !failure.empty()) {
    // 405: the server offers no GET stream, which MCP allows.
    spdlog::debug("upstream {}: no GET stream ({})", state->options.url, failure);
    co_return;
  }
  co_await resume_stream(state, position);
}

// Reads one answer: nothing (202), one JSON message, or an SSE stream of them.
asio::awaitable<void> read_answer(std::shared_ptr<State> state, std::shared_ptr<Exchange> exchange, json request_id,
                                  bool opens_get_stream) {
  http::response_parser<http::buffer_body> parser;
  unlimited_body(parser);
  boost::system::error_code ec;
  co_await http::async_read_header(exchange->stream, exchange->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  const bool modern = state->era == ProtocolEra::modern;
  if (ec && (exchange->aborted || (modern && !request_id.is_null()))) {
    // A modern request stands alone: one that broke, or was cancelled, ends nothing else.
    if (!exchange->aborted) {
      state->deliver(Message::error(request_id, Error::upstream_exited, "the connection broke before an answer").wire());
    }
    state->abort_in_flight.erase(id_key(request_id));
    co_return;
  }
  if (ec) {
    state->end("the connection broke before an answer: " + ec.message());
    co_return;
  }
  const auto& head = parser.get();
  if (const auto session = header_value(head.base(), "Mcp-Session-Id"); !session.empty() && state->session_id.empty()) {
    state->session_id = session;
  }
  const auto status = head.result_int();
  if (status == 404 && !state->session_id.empty()) {
    state->end("the server no longer knows session " + state->session_id + " (HTTP 404)");
    co_return;
  }
  std::string json_body;
  StreamPosition position;
  if (!request_id.is_null()) position.awaiting = id_key(request_id);
  co_await read_body(state, *exchange, parser, json_body, position);
  if (modern) state->abort_in_flight.erase(id_key(request_id));
  if (exchange->aborted) co_return;
  if (!position.complete && !state->ended && status == 200 && json_body.empty()) {
    co_await resume_stream(state, position);
    if (!position.awaiting.empty() && !state->ended) {
      state->deliver(Message::error(request_id, Error::upstream_exited,
                                    "the upstream's event stream for this request broke and could not be resumed")
                         .wire());
    }
  }
  if (status >= 400) {
    spdlog::warn("upstream {}: HTTP {} {}", state->options.url, status, json_body.substr(0, 200));
    if (request_id.is_null()) co_return;
    auto body = json::parse(json_body, nullptr, false);
    // A server that cannot tell which request it refuses (before parsing it) says id null.
    const bool own_error = body.is_object() && body.contains("error") && body["error"].is_object() &&
                           (!body.contains("id") || body["id"].is_null() || body["id"] == request_id);
    if (modern && own_error) {
      // A 2026-07-28 server's error for this request (-32020, -32022, 404 -32601, ...) is the answer.
      body["id"] = request_id;
      state->deliver(body.dump(-1, ' ', false, json::error_handler_t::replace));
    } else if (const auto code = error_code(body); modern_error(code)) {
      state->deliver(Message::error(request_id, Error::upstream_exited,
                                    "the upstream speaks only the 2026-07-28 revision (HTTP " + std::to_string(status) +
                                        ", error " + std::to_string(code) +
                                        "); Sluice does not translate a 2025 session to it")
                         .wire());
    } else {
      state->deliver(Message::error(request_id, Error::upstream_exited, "the upstream answered HTTP " + std::to_string(status)).wire());
    }
    co_return;
  }
  if (!json_body.empty()) {
    note_initialize_result(*state, json_body);
    state->deliver(std::move(json_body));
  }
  if (opens_get_stream && !state->get_stream_opened) {
    state->get_stream_opened = true;
    asio::co_spawn(state->executor, open_get_stream(state), asio::detached);
  }
}

// A request of Sluice's own in the client's envelope. (Built outside the coroutines:
// GCC cannot keep an initializer list's array in a coroutine frame.)
Message own_modern_request(const std::string& id, std::string_view method, const json& envelope,
                           const json& cursor = nullptr) {
  auto params = json::object();
  params["_meta"] = envelope;
  if (cursor.is_string()) params["cursor"] = cursor;
  return Message::request(id, method, std::move(params));
}

// A request of Sluice's own to a 2026-07-28 upstream, answered as JSON: the response,
// or a discarded value when there is none (no connection, no answer in time, not JSON).
asio::awaitable<json> ask_modern(const std::shared_ptr<State>& state, const Message& ask) {
  auto exchange = std::make_shared<Exchange>(*state);
  auto request = make_request(*state, http::verb::post, ask.wire(), mirrored_headers(ask, state->tool_headers));
  if (const auto failure = co_await connect_and_write(state, *exchange, request); !failure.empty()) {
    spdlog::warn("upstream {}: {}: {}", state->options.url, ask.method(), failure);
    co_return json(json::value_t::discarded);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(state->options.max_message_bytes);
  boost::system::error_code ec;
  exchange->stream.expires_after(state->options.connect_timeout);
  co_await http::async_read(exchange->stream, exchange->buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return json(json::value_t::discarded);
  auto text = parser.get().body();
  if (header_value(parser.get().base(), "Content-Type").starts_with("text/event-stream")) {
    SseDecoder events(state->options.max_message_bytes);
    SseDecoder::Event event;
    text.clear();
    if (events.feed(parser.get().body())) {
      while (text.empty() && events.next(event)) text = std::move(event.data);
    }
  }
  co_return json::parse(text, nullptr, false);
}

// Whether the upstream is a 2026-07-28 server: its answer to server/discover (sent
// with the envelope of the client's first request) is a DiscoverResult, or an error
// only a modern server gives. Anything else (a 2025 server's "no session" error, a
// 404, a broken connection) means it is not; no single error code decides.
asio::awaitable<bool> discover_modern(const std::shared_ptr<State>& state, const json& envelope) {
  const auto body = co_await ask_modern(state, own_modern_request("sluice-discover", "server/discover", envelope));
  if (!body.is_object()) co_return false;
  if (body.contains("result") && body["result"].is_object() && body["result"].contains("supportedVersions")) co_return true;
  co_return modern_error(error_code(body));
}

// Learns the upstream's x-mcp-header annotations from its own tools/list, every page:
// a call of a tool no list relayed by this client described (a 2025 session listed the
// tools, or none did) still needs its Mcp-Param-* headers.
asio::awaitable<void> list_tool_headers(const std::shared_ptr<State>& state, const json& envelope) {
  constexpr int max_pages = 100;
  json cursor;
  for (int page = 0; page < max_pages; ++page) {
    const auto body =
        co_await ask_modern(state, own_modern_request("sluice-tools-" + std::to_string(page), "tools/list", envelope, cursor));
    if (!body.is_object() || !body.contains("result") || !body["result"].is_object()) co_return;
    state->tool_headers.learn(body["result"]);
    cursor = body["result"].value("nextCursor", json());
    if (!cursor.is_string()) co_return;
  }
}

// What a 2026-07-28 message becomes on the wire: a request gets the Mcp-* headers its
// body calls for and can be cancelled by closing its POST; a notification has no
// receiver over HTTP, except notifications/cancelled, which closes the POST it names.
// Returns the headers, or nullopt when the message is not to be sent.
std::optional<std::vector<MirroredHeader>> prepare_modern(State& state, const Message* message) {
  if (message == nullptr) return std::nullopt;
  if (message->is_notification()) {
    const auto& params = message->params();
    if (message->method() == "notifications/cancelled" && params.is_object() && params.contains("requestId")) {
      const auto found = state.abort_in_flight.find(id_key(params["requestId"]));
      if (found != state.abort_in_flight.end()) {
        auto abort = std::move(found->second);
        state.abort_in_flight.erase(found);
        abort();
      }
    }
    return std::nullopt;
  }
  if (!message->is_request()) return std::nullopt;  // a 2026-07-28 client answers nothing
  if (!state.upstream_modern) {
    state.deliver(Message::error(message->id(), Error::upstream_exited,
                                 "the upstream " + state.options.url +
                                     " does not speak 2026-07-28 (server/discover found a 2025 server); "
                                     "Sluice does not translate a 2026-07-28 client to it")
                      .wire());
    return std::nullopt;
  }
  if (message->method() == "tools/list") state.listing_tools.insert(id_key(message->id()));
  return mirrored_headers(*message, state.tool_headers);
}

// The tool (and the request's envelope) of a 2026-07-28 tools/call whose schema no
// tools/list described yet; asked once per tool name, for a bounded number of names.
std::optional<std::pair<std::string, json>> undescribed_tool(State& state, const Message* message) {
  constexpr std::size_t max_names = 1000;
  if (message == nullptr || !message->is_request() || message->method() != "tools/call") return std::nullopt;
  const auto& params = message->params();
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) return std::nullopt;
  auto name = params["name"].get<std::string>();
  if (state.tool_headers.bindings(name) != nullptr || state.listed_for.contains(name)) return std::nullopt;
  if (state.listed_for.size() >= max_names) return std::nullopt;
  state.listed_for.insert(name);
  return std::pair{std::move(name), modern_envelope(*message)};
}

asio::awaitable<void> send_loop(std::shared_ptr<State> state) {
  while (!state->ended) {
    while (state->outbound.empty() && !state->ended && !state->send_closed) co_await state->outbound_ready.wait();
    if (state->ended || state->outbound.empty()) break;
    auto message = std::move(state->outbound.front());
    state->outbound.pop_front();
    const auto body = json::parse(message, nullptr, false);
    json request_id;
    bool initialized = false;
    if (body.is_object() && body.contains("method") && body.contains("id")) {
      request_id = body["id"];
      if (body["method"] == "initialize") state->initialize_id = id_key(request_id);
    } else if (body.is_object() && body.contains("method")) {
      initialized = body["method"] == "notifications/initialized";
    }
    if (state->era == ProtocolEra::undetermined && !request_id.is_null()) {
      auto parsed = parse_frame(message, ParseLimits{state->options.max_message_bytes});
      if (const auto* opening = std::get_if<Message>(&parsed)) {
        state->era = era_of_opening(*opening);
        if (state->era == ProtocolEra::modern) {
          state->upstream_modern = co_await discover_modern(state, modern_envelope(*opening));
          spdlog::info("upstream {}: server/discover says it {} 2026-07-28", state->options.url,
                       state->upstream_modern ? "speaks" : "does not speak");
        }
      }
    }
    std::vector<MirroredHeader> mirrored;
    if (state->era == ProtocolEra::modern) {
      auto parsed = parse_frame(message, ParseLimits{state->options.max_message_bytes});
      const auto* outgoing = std::get_if<Message>(&parsed);
      if (const auto tool = undescribed_tool(*state, outgoing)) {
        spdlog::debug("upstream {}: listing its tools for the Mcp-Param-* headers of {}", state->options.url, tool->first);
        co_await list_tool_headers(state, tool->second);
      }
      auto headers = prepare_modern(*state, outgoing);
      if (!headers) continue;
      mirrored = std::move(*headers);
    }
    auto exchange = std::make_shared<Exchange>(*state);
    if (state->era == ProtocolEra::modern) {
      state->abort_in_flight[id_key(request_id)] = [weak = std::weak_ptr<Exchange>(exchange)] {
        if (auto open = weak.lock()) {
          open->aborted = true;
          boost::system::error_code ignored;
          open->stream.tcp().socket().close(ignored);
        }
      };
    }
    auto request = make_request(*state, http::verb::post, std::move(message), mirrored);
    // Requests are written in the order they were sent; their answers are read side by side.
    if (const auto failure = co_await connect_and_write(state, *exchange, request); !failure.empty()) {
      state->end(failure);
      break;
    }
    asio::co_spawn(state->executor, read_answer(state, exchange, request_id, initialized), asio::detached);
  }
  if (state->send_closed && !state->session_id.empty() && !state->ended) {
    auto exchange = std::make_shared<Exchange>(*state);
    auto request = make_request(*state, http::verb::delete_, {});
    if ((co_await connect_and_write(state, *exchange, request)).empty()) {
      spdlog::debug("upstream {}: ended session {}", state->options.url, state->session_id);
    }
  }
  state->end("the session is over");
}

}  // namespace

HttpClientTransport::HttpClientTransport(const asio::any_io_executor& executor, HttpUpstreamOptions options)
    : state_(std::make_shared<State>(executor, std::move(options))) {
  auto url = parse_url(state_->options.url);
  state_->host = std::move(url.host);
  state_->port = std::move(url.port);
  state_->target = std::move(url.target);
  if (url.tls) state_->tls.emplace(tls_client_context(state_->options.ca_file));
  asio::co_spawn(executor, send_loop(state_), asio::detached);
}

HttpClientTransport::~HttpClientTransport() { close(); }

asio::awaitable<std::optional<Frame>> HttpClientTransport::receive() {
  auto state = state_;
  while (state->inbound.empty() && !state->ended) co_await state->inbound_ready.wait();
  if (state->inbound.empty()) co_return std::nullopt;
  auto frame = std::move(state->inbound.front());
  state->inbound.pop_front();
  co_return frame;
}

void HttpClientTransport::send(std::string message) {
  if (!can_send()) return;
  state_->outbound.push_back(std::move(message));
  state_->outbound_ready.notify_all();
}

void HttpClientTransport::close_send() {
  state_->send_closed = true;
  state_->outbound_ready.notify_all();
}

void HttpClientTransport::close_receive() {
  state_->ended = true;
  state_->inbound_ready.notify_all();
}

void HttpClientTransport::close() {
  close_send();
  close_receive();
}

bool HttpClientTransport::can_send() const { return !state_->ended && !state_->send_closed; }

}  // namespace sluice::mcp
