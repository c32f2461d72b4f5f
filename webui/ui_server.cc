#include "webui/ui_server.h"

#include <pwd.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "audit/sqlite_store.h"
#include "audit/verifier.h"
#include "mcp/digest.h"
#include "mcp/random_id.h"
#include "webui/assets.h"
#include "webui/html.h"
#include "webui/password.h"
#include "webui/request_guard.h"
#include "webui/view_json.h"

namespace sluice::webui {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view session_cookie = "sluice_session";
constexpr std::string_view csrf_header = "X-CSRF-Token";
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
constexpr std::size_t max_comment_bytes = 4000;
constexpr std::size_t max_filter_bytes = 256;

std::string_view view_of(beast::string_view text) { return {text.data(), text.size()}; }
beast::string_view beast_view(std::string_view text) { return {text.data(), text.size()}; }
std::string_view field(const Request& request, http::field name) { return view_of(request[name]); }
std::string_view field(const Request& request, std::string_view name) { return view_of(request[beast_view(name)]); }

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

template <class Body>
void secure(http::response<Body>& response) {
  response.set("Content-Security-Policy", beast_view(content_security_policy));
  response.set("X-Frame-Options", "DENY");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
  response.set(http::field::cache_control, "no-store");
}

Response text_response(http::status status, std::string_view content_type, std::string body) {
  Response response{status, 11};
  response.set(http::field::content_type, beast_view(content_type));
  response.body() = std::move(body);
  secure(response);
  response.prepare_payload();
  return response;
}

Response json_response(http::status status, const json& body) {
  return text_response(status, "application/json; charset=utf-8", dump(body) + "\n");
}

Response json_error(http::status status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", code}, {"message", message}});
}

Response page_error(http::status status, std::string_view title, std::string_view message) {
  return text_response(status, "text/html; charset=utf-8", error_page(title, message));
}

Response redirect(std::string_view location) {
  auto response = text_response(http::status::see_other, "text/plain; charset=utf-8", "");
  response.set(http::field::location, beast_view(location));
  return response;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string, std::less<>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  while (!query.empty()) {
    const auto end = query.find('&');
    const auto pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    out.insert_or_assign(percent_decode(pair.substr(0, equals)), percent_decode(pair.substr(equals + 1)));
  }
  return out;
}

bool is_approval_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

http::status status_for(DecideError error) {
  switch (error) {
    case DecideError::none: return http::status::ok;
    case DecideError::not_found: return http::status::not_found;
    case DecideError::not_pending:
    case DecideError::already_voted: return http::status::conflict;
    case DecideError::own_request:
    case DecideError::not_allowed: return http::status::forbidden;
    case DecideError::audit_failed: return http::status::service_unavailable;
  }
  return http::status::internal_server_error;
}

// Built outside the coroutines: GCC 12 miscompiles braced lists of literals inside them.
Response verify_response(const audit::VerifyReport& report) {
  return json_response(http::status::ok, {{"ok", report.ok},
                                          {"events", report.events},
                                          {"head", report.head},
                                          {"bad_seq", report.bad_seq ? json(*report.bad_seq) : json(nullptr)},
                                          {"problem", report.problem}});
}

Response login_response(const UiSession& session) {
  auto response = json_response(http::status::ok, {{"user", session.user}, {"roles", session.roles}, {"csrf_token", session.csrf_token}});
  response.set(http::field::set_cookie, std::string(session_cookie) + "=" + session.id + "; HttpOnly; SameSite=Strict; Path=/");
  return response;
}

Response logout_response() {
  auto response = json_response(http::status::ok, {{"ok", true}});
  response.set(http::field::set_cookie, std::string(session_cookie) + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  return response;
}

Response decide_response(const DecideResult& result) {
  json body{{"error", result.error == DecideError::none ? json(nullptr) : json(to_string(result.error))},
            {"message", result.message}};
  if (result.request) body["request"] = to_json(*result.request);
  return json_response(status_for(result.error), body);
}

std::optional<std::size_t> parse_count(std::string_view text) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

struct ParsedAddress {
  std::string host;
  asio::ip::address ip;
  unsigned short port = 0;
};

ParsedAddress parse_address(const std::string& address) {
  const auto colon = address.rfind(':');
  const auto fail = [&](const std::string& why) -> ParsedAddress {
    throw std::invalid_argument("ui.address \"" + address + "\": " + why);
  };
  if (colon == std::string::npos) return fail("expected HOST:PORT, such as 127.0.0.1:8766");
  ParsedAddress parsed;
  parsed.host = address.substr(0, colon);
  if (parsed.host.size() >= 2 && parsed.host.front() == '[' && parsed.host.back() == ']') {
    parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
  }
  const auto port = parse_count(std::string_view(address).substr(colon + 1));
  if (!port || *port > 65535) return fail("expected a port number from 0 to 65535");
  parsed.port = static_cast<unsigned short>(*port);
  boost::system::error_code ec;
  parsed.ip = asio::ip::make_address(parsed.host == "localhost" ? "127.0.0.1" : parsed.host, ec);
  if (ec) return fail("expected an IP address (or localhost) before the port");
  return parsed;
}

// One event stream's queue: the desk's subscription pushes, the stream's writer pops.
struct EventStream {
  explicit EventStream(asio::any_io_executor executor) : wake(std::move(executor)) {}
  std::deque<std::string> queue;
  asio::steady_timer wake;
  bool overflowed = false;
};

struct AuthenticatedUser {
  std::string session_id;  // empty in local mode
  std::string csrf_token;
  std::string name;
  std::vector<std::string> roles;
  [[nodiscard]] bool has_role(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
  }
};

asio::awaitable<bool> verify_off_loop(std::string password, PasswordHash hash) {
  co_return verify_password(password, hash);
}

asio::awaitable<audit::VerifyReport> verify_audit_off_loop(std::string path) {
  const audit::SqliteStore store(path, audit::Durability::normal, true);
  co_return audit::verify(store);
}

}  // namespace

std::string os_user_name() {
  if (const auto* entry = ::getpwuid(::geteuid()); entry != nullptr && entry->pw_name != nullptr && *entry->pw_name) {
    return entry->pw_name;
  }
  if (const char* user = std::getenv("USER"); user != nullptr && *user) return user;
  return "local";
}

class UiServer::State : public std::enable_shared_from_this<UiServer::State> {
 public:
  State(asio::io_context& io, UiServerOptions options, ApprovalDesk& desk)
      : io_(io), options_(std::move(options)), desk_(desk), acceptor_(io), sessions_(options_.sessions),
        throttle_(options_.throttle) {
    const auto address = parse_address(options_.address);
    if (options_.users.empty() && !address.ip.is_loopback()) {
      throw std::invalid_argument("ui.address \"" + options_.address +
                                  "\" is not a loopback address, and no ui.users are configured: without users the web "
                                  "UI has no login, so it binds only to 127.0.0.1 or ::1. Add users (`sluice passwd` "
                                  "prints a password hash) or bind to loopback.");
    }
    for (const auto& user : options_.users) {
      try {
        users_.emplace(user.name, Account{PasswordHash::parse(user.password_hash), user.roles});
      } catch (const PasswordFormatError& e) {
        throw std::invalid_argument("ui.users[" + user.name + "].password: " + e.what());
      }
    }
    if (!users_.empty()) {
      // Unknown names are checked against this, so that a wrong name takes as long as a
      // wrong password and the response does not reveal which users exist.
      decoy_ = users_.begin()->second.hash;
      decoy_.salt = std::string(16, 'x');
    }
    if (options_.local_approver.empty()) options_.local_approver = os_user_name();
    local_csrf_ = mcp::random_hex(16);
    if (!options_.metrics) {
      own_metrics_ = std::make_unique<Metrics>();
      options_.metrics = own_metrics_.get();
    }
    logins_ = &options_.metrics->counter("sluice_ui_logins_total", "Web UI login attempts by result", {"result"});

    const tcp::endpoint endpoint(address.ip, address.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    boost::system::error_code ec;
    acceptor_.bind(endpoint, ec);
    if (ec) throw std::system_error(ec, "ui.address " + options_.address + ": cannot bind");
    acceptor_.listen();
    host_ = address.ip.to_string();
    port_ = acceptor_.local_endpoint().port();
    origins_ = origin_policy_for(host_, port_);
  }

  void start() {
    if (running_) return;
    running_ = true;
    subscription_ = desk_.subscribe([weak = weak_from_this()](const ApprovalView& view) {
      if (auto self = weak.lock()) self->publish(view);
    });
    asio::co_spawn(io_, accept_loop(shared_from_this()), asio::detached);
    if (options_.users.empty()) {
      spdlog::warn("web UI at {} has no login (no ui.users): anyone on this host can approve as \"{}\"", url(),
                   options_.local_approver);
    } else {
      spdlog::info("web UI at {}", url());
    }
  }

  void stop() {
    if (!running_) return;
    running_ = false;
    desk_.unsubscribe(subscription_);
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [id, stream] : connections_) stream->socket().close(ignored);
    for (auto& [id, stream] : event_streams_) stream->wake.cancel();
  }

  [[nodiscard]] std::string url() const {
    const bool ipv6 = host_.find(':') != std::string::npos;
    return "http://" + (ipv6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_) + "/";
  }

  asio::io_context& io_;
  UiServerOptions options_;
  ApprovalDesk& desk_;
  std::string host_;
  unsigned short port_ = 0;

 private:
  struct Account {
    PasswordHash hash;
    std::vector<std::string> roles;
  };

  static asio::awaitable<void> accept_loop(std::shared_ptr<State> self) {
    while (self->running_) {
      boost::system::error_code ec;
      auto socket = co_await self->acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !self->running_) co_return;
      if (ec) continue;  // e.g. EMFILE: the next accept may succeed
      if (self->connections_.size() >= self->options_.limits.max_connections) {
        socket.close(ec);
        continue;
      }
      asio::co_spawn(self->io_, serve(self, std::move(socket)), [](const std::exception_ptr& error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          spdlog::warn("web UI: connection failed: {}", e.what());
        }
      });
    }
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    const auto id = ++self->next_id_;
    self->connections_.emplace(id, &stream);
    struct Forget {
      State& state;
      std::uint64_t id;
      ~Forget() { state.connections_.erase(id); }
    } forget{*self, id};
    const auto& limits = self->options_.limits;
    beast::flat_buffer buffer;
    while (self->running_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
      parser.body_limit(limits.body_bytes);
      stream.expires_after(limits.idle);
      boost::system::error_code ec;
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::header_limit || ec == http::error::body_limit) {
        auto response = json_error(ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                                   : http::status::payload_too_large,
                                   "too_large", "the request is larger than this server accepts");
        response.keep_alive(false);
        stream.expires_after(limits.write);
        co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      if (ec) break;  // closed, timed out, or not HTTP: nothing to answer
      auto request = parser.release();
      if (request.method() == http::verb::get && request.target() == "/api/events") {
        co_await self->event_stream(stream, request);
        break;
      }
      auto response = co_await self->handle(request);
      response.keep_alive(request.keep_alive());
      stream.expires_after(limits.write);
      co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !response.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void publish(const ApprovalView& view) {
    const auto text = "event: approval\ndata: " + dump(to_json(view)) + "\n\n";
    for (auto& [id, stream] : event_streams_) {
      if (stream->queue.size() >= options_.limits.event_queue) {
        stream->overflowed = true;
      } else {
        stream->queue.push_back(text);
      }
      stream->wake.cancel();
    }
  }

  // Server-sent events: one "approval" event per new request or change of state.
  // The page re-reads the list whenever the stream (re)opens, so an event lost to a
  // closed stream is never a missing row.
  asio::awaitable<void> event_stream(beast::tcp_stream& stream, const Request& request) {
    const auto& limits = options_.limits;
    boost::system::error_code ec;
    auto refusal = authorize_read(request, true);
    if (!refusal && event_streams_.size() >= limits.max_event_streams) {
      refusal = json_error(http::status::service_unavailable, "too_many_streams", "too many open event streams; retry later");
    }
    if (refusal) {
      refusal->keep_alive(false);
      stream.expires_after(limits.write);
      co_await http::async_write(stream, *refusal, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    const auto user = *authenticate(request);
    http::response<http::empty_body> header{http::status::ok, 11};
    header.set(http::field::content_type, "text/event-stream");
    secure(header);
    header.chunked(true);
    http::response_serializer<http::empty_body> serializer{header};
    stream.expires_after(limits.write);
    co_await http::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;

    const auto id = ++next_id_;
    EventStream events(io_.get_executor());
    events.queue.push_back("retry: 2000\n\n");
    event_streams_.emplace(id, &events);
    struct Forget {
      State& state;
      std::uint64_t id;
      ~Forget() { state.event_streams_.erase(id); }
    } forget{*this, id};
    while (running_ && !events.overflowed) {
      if (events.queue.empty()) {
        events.wake.expires_after(limits.keepalive);
        co_await events.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!running_ || events.overflowed) break;
        if (!ec) {
          // A logged-out or expired session stops receiving approvals.
          if (!user.session_id.empty() && sessions_.find(user.session_id, Clock::now()) == nullptr) break;
          events.queue.push_back(": keepalive\n\n");
        }
        continue;
      }
      const auto text = std::move(events.queue.front());
      events.queue.pop_front();
      stream.expires_after(limits.write);
      co_await asio::async_write(stream, http::make_chunk(asio::buffer(text)), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (!ec && running_) {
      stream.expires_after(limits.write);
      co_await asio::async_write(stream, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  std::optional<AuthenticatedUser> authenticate(const Request& request) {
    if (users_.empty()) return AuthenticatedUser{{}, local_csrf_, options_.local_approver, {"approver"}};
    const auto cookie = find_cookie(field(request, http::field::cookie), session_cookie);
    if (!cookie) return std::nullopt;
    const auto* session = sessions_.find(*cookie, Clock::now());
    if (!session) return std::nullopt;
    return AuthenticatedUser{session->id, session->csrf_token, session->user, session->roles};
  }

  // For GETs: a wrong Host (DNS rebinding) or no login is refused.
  std::optional<Response> authorize_read(const Request& request, bool api) {
    if (check_host(origins_, field(request, http::field::host)) != GuardVerdict::ok) {
      return json_error(http::status::misdirected_request, "bad_host", to_string(GuardVerdict::bad_host));
    }
    if (api && iequals(field(request, "Sec-Fetch-Site"), "cross-site")) {
      return json_error(http::status::forbidden, "cross_site", to_string(GuardVerdict::cross_site));
    }
    if (!authenticate(request)) {
      if (api) return json_error(http::status::unauthorized, "login_required", "log in first");
      const auto target = std::string(view_of(request.target()));
      return redirect(target == "/" ? "/login" : "/login?next=" + target.substr(0, 512));
    }
    return std::nullopt;
  }

  static bool iequals(std::string_view a, std::string_view b) { return beast::iequals(beast_view(a), beast_view(b)); }

  std::optional<Response> authorize_write(const Request& request, std::string_view expected_token) {
    const auto verdict = check_unsafe_request(origins_, field(request, http::field::host), field(request, http::field::origin),
                                              field(request, "Sec-Fetch-Site"), field(request, csrf_header), expected_token);
    if (verdict == GuardVerdict::ok) return std::nullopt;
    spdlog::warn("web UI: refused {} {}: {}", std::string(view_of(request.method_string())), std::string(view_of(request.target())),
                 to_string(verdict));
    const auto status = verdict == GuardVerdict::bad_host ? http::status::misdirected_request : http::status::forbidden;
    return json_error(status, verdict == GuardVerdict::bad_token ? "bad_csrf_token" : "bad_origin", to_string(verdict));
  }

  asio::awaitable<Response> handle(const Request& request) {
    const std::string_view target = view_of(request.target());
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    const auto method = request.method();
    try {
      if (method == http::verb::get && path == "/healthz") co_return healthz();
      if (method == http::verb::get && path == "/metrics") {
        co_return text_response(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", options_.metrics->render());
      }
      if (method == http::verb::get && path.starts_with("/assets/")) {
        if (check_host(origins_, field(request, http::field::host)) != GuardVerdict::ok) {
          co_return page_error(http::status::misdirected_request, "Wrong host", to_string(GuardVerdict::bad_host));
        }
        const auto* asset = find_asset(path.substr(8));
        if (!asset) co_return page_error(http::status::not_found, "Not found", "There is no such file.");
        co_return text_response(http::status::ok, asset->content_type, std::string(asset->body));
      }
      if (method == http::verb::post) {
        auto response = co_await handle_post(request, path);
        co_return response;
      }
      if (method != http::verb::get && method != http::verb::head) {
        auto response = json_error(http::status::method_not_allowed, "method_not_allowed", "use GET or POST");
        response.set(http::field::allow, "GET, HEAD, POST");
        co_return response;
      }
      if (path == "/login") {
        if (check_host(origins_, field(request, http::field::host)) != GuardVerdict::ok) {
          co_return page_error(http::status::misdirected_request, "Wrong host", to_string(GuardVerdict::bad_host));
        }
        if (users_.empty()) co_return redirect("/");
        co_return asset_page("login.html");
      }
      const bool api = path.starts_with("/api/");
      if (auto refusal = authorize_read(request, api)) co_return std::move(*refusal);
      if (!api) {
        if (path == "/" || path == "/history" || path == "/audit" || path == "/pins" ||
            (path.starts_with("/approvals/") && is_approval_id(path.substr(11)))) {
          co_return asset_page("app.html");
        }
        co_return page_error(http::status::not_found, "Not found", "There is no page at " + std::string(path) + ".");
      }
      co_return api_get(request, path, parse_query(query));
    } catch (const std::exception& e) {
      spdlog::error("web UI: {} {}: {}", std::string(view_of(request.method_string())), std::string(path), e.what());
      co_return json_error(http::status::internal_server_error, "internal", "the server failed to answer; see its log");
    }
  }

  static Response asset_page(std::string_view name) {
    const auto* asset = find_asset(name);
    return text_response(http::status::ok, asset->content_type, std::string(asset->body));
  }

  Response healthz() const {
    const auto health = options_.health ? options_.health() : UiHealth{};
    json body{{"status", health.audit_ok ? "ok" : "failing"},
              {"audit", {{"ok", health.audit_ok}, {"error", health.audit_error}}},
              {"upstream", health.upstream_state}};
    return json_response(health.audit_ok ? http::status::ok : http::status::service_unavailable, body);
  }

  Response api_get(const Request& request, std::string_view path, const std::map<std::string, std::string, std::less<>>& query) {
    const auto user = *authenticate(request);
    if (path == "/api/session") {
      return json_response(http::status::ok, {{"user", user.name},
                                              {"roles", user.roles},
                                              {"csrf_token", user.csrf_token},
                                              {"login", !users_.empty()},
                                              {"pins", options_.pins != nullptr},
                                              {"audit", !options_.audit_path.empty()},
                                              {"now", audit::audit_time_now()}});
    }
    if (path == "/api/approvals") {
      auto list = json::array();
      for (const auto& view : desk_.pending()) list.push_back(to_json(view));
      return json_response(http::status::ok, {{"now", audit::audit_time_now()}, {"requests", list}});
    }
    if (path == "/api/approvals/history") {
      auto limit = options_.limits.history;
      if (const auto it = query.find("limit"); it != query.end()) {
        const auto asked = parse_count(it->second);
        if (!asked || *asked == 0) return json_error(http::status::bad_request, "bad_limit", "limit must be a positive number");
        limit = std::min(*asked, limit);
      }
      auto list = json::array();
      for (const auto& view : desk_.history(limit)) list.push_back(to_json(view));
      return json_response(http::status::ok, {{"now", audit::audit_time_now()}, {"requests", list}});
    }
    if (path.starts_with("/api/approvals/")) {
      const auto id = path.substr(15);
      const auto view = is_approval_id(id) ? desk_.find(id) : std::nullopt;
      if (!view) return json_error(http::status::not_found, "not_found", "no approval request has this id");
      return json_response(http::status::ok, {{"now", audit::audit_time_now()}, {"request", to_json(*view)}});
    }
    if (path == "/api/pins") {
      if (!options_.pins) return json_response(http::status::ok, {{"enabled", false}, {"tools", json::array()}});
      auto list = json::array();
      for (const auto& view : options_.pins->tools()) list.push_back(to_json(view));
      return json_response(http::status::ok, {{"enabled", true}, {"tools", list}});
    }
    if (path == "/api/audit") return audit_query(query);
    return json_error(http::status::not_found, "not_found", "no such API endpoint");
  }

  Response audit_query(const std::map<std::string, std::string, std::less<>>& query) {
    if (options_.audit_path.empty()) return json_error(http::status::not_found, "no_audit", "this Sluice keeps no audit log");
    audit::EventQuery filter;
    filter.newest_first = true;
    filter.limit = static_cast<std::int64_t>(options_.limits.audit_rows / 5);
    for (const auto& [name, value] : query) {
      if (value.empty()) continue;
      if (value.size() > max_filter_bytes) return json_error(http::status::bad_request, "bad_filter", name + " is too long");
      if (name == "kind") {
        filter.kind = value;
      } else if (name == "tool") {
        filter.tool = value;
      } else if (name == "decision") {
        filter.decision = value;
      } else if (name == "principal") {
        filter.principal = value;
      } else if (name == "session") {
        filter.session = value;
      } else if (name == "since") {
        filter.since = value;
      } else if (name == "until") {
        filter.until = value;
      } else if (name == "limit") {
        const auto limit = parse_count(value);
        if (!limit || *limit == 0) return json_error(http::status::bad_request, "bad_limit", "limit must be a positive number");
        filter.limit = static_cast<std::int64_t>(std::min(*limit, options_.limits.audit_rows));
      } else {
        return json_error(http::status::bad_request, "bad_filter", "unknown filter " + name);
      }
    }
    try {
      if (!audit_store_) audit_store_.emplace(options_.audit_path, audit::Durability::normal, true);
      auto rows = json::array();
      audit_store_->scan(filter, [&](const audit::StoredEvent& event) {
        auto record = json::parse(event.record, nullptr, false);
        rows.push_back({{"seq", event.seq}, {"time", event.time}, {"chain", mcp::to_hex(event.chain)},
                        {"record", record.is_discarded() ? json(event.record) : record}});
        return true;
      });
      return json_response(http::status::ok, {{"events", rows}, {"limit", *filter.limit}});
    } catch (const audit::StoreError& e) {
      audit_store_.reset();
      return json_error(http::status::service_unavailable, "audit_unavailable", e.what());
    }
  }

  asio::awaitable<Response> handle_post(const Request& request, std::string_view path) {
    if (path == "/api/login") {
      if (auto refusal = authorize_write(request, {})) co_return std::move(*refusal);
      auto response = co_await login(request);
      co_return response;
    }
    if (!path.starts_with("/api/")) co_return json_error(http::status::not_found, "not_found", "no such API endpoint");
    const auto user = authenticate(request);
    if (!user) {
      if (auto refusal = authorize_write(request, {})) co_return std::move(*refusal);
      co_return json_error(http::status::unauthorized, "login_required", "log in first");
    }
    if (auto refusal = authorize_write(request, user->csrf_token)) co_return std::move(*refusal);
    const auto body = json::parse(request.body().empty() ? std::string("{}") : request.body(), nullptr, false);
    if (!body.is_object()) co_return json_error(http::status::bad_request, "bad_body", "expected a JSON object");

    if (path == "/api/logout") {
      sessions_.remove(user->session_id);
      co_return logout_response();
    }
    if (path.starts_with("/api/approvals/")) {
      const auto rest = path.substr(15);
      const auto slash = rest.find('/');
      const auto id = rest.substr(0, slash);
      const auto verb = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (!is_approval_id(id) || (verb != "approve" && verb != "deny")) {
        co_return json_error(http::status::not_found, "not_found", "expected /api/approvals/ID/approve or /deny");
      }
      const auto comment = body.value("comment", json(""));
      if (!comment.is_string() || comment.get<std::string>().size() > max_comment_bytes) {
        co_return json_error(http::status::bad_request, "bad_comment", "comment must be a string of at most 4000 bytes");
      }
      const bool approve = verb == "approve";
      spdlog::info("web UI: {} votes to {} {}", user->name, approve ? "approve" : "deny", std::string(id));
      // Named arguments, not temporaries: GCC 12 destroys a temporary passed by value into
      // a coroutine inside a co_await expression twice.
      std::string request_id(id);
      Approver approver{user->name, user->roles};
      auto text = comment.get<std::string>();
      const auto result = co_await desk_.decide(std::move(request_id), std::move(approver), approve, std::move(text));
      co_return decide_response(result);
    }
    if (path == "/api/pins/repin") {
      if (!options_.pins) co_return json_error(http::status::not_found, "no_pins", "tool pinning is not in use");
      if (!user->has_role("approver")) {
        co_return json_error(http::status::forbidden, "not_allowed", "re-pinning a tool needs the role \"approver\"");
      }
      const auto upstream = body.value("upstream", json(""));
      const auto tool = body.value("tool", json(""));
      if (!upstream.is_string() || !tool.is_string() || tool.get<std::string>().empty()) {
        co_return json_error(http::status::bad_request, "bad_body", "expected {\"upstream\": \"…\", \"tool\": \"…\"}");
      }
      spdlog::info("web UI: {} re-pins {}/{}", user->name, upstream.get<std::string>(), tool.get<std::string>());
      auto upstream_name = upstream.get<std::string>();
      auto tool_name = tool.get<std::string>();
      Approver approver{user->name, user->roles};
      const auto result = co_await options_.pins->repin(std::move(upstream_name), std::move(tool_name), std::move(approver));
      co_return decide_response(result);
    }
    if (path == "/api/audit/verify") {
      auto response = co_await verify_audit();
      co_return response;
    }
    co_return json_error(http::status::not_found, "not_found", "no such API endpoint");
  }

  asio::awaitable<Response> verify_audit() {
    if (options_.audit_path.empty()) co_return json_error(http::status::not_found, "no_audit", "this Sluice keeps no audit log");
    if (verifying_) co_return json_error(http::status::conflict, "busy", "a verification is already running");
    verifying_ = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{verifying_};
    try {
      // verify reads the whole log: minutes for a large one, so never on the loop.
      auto verification = verify_audit_off_loop(options_.audit_path);
      const auto report = co_await asio::co_spawn(verify_pool_, std::move(verification), asio::use_awaitable);
      co_return verify_response(report);
    } catch (const audit::StoreError& e) {
      co_return json_error(http::status::service_unavailable, "audit_unavailable", e.what());
    }
  }

  asio::awaitable<Response> login(const Request& request) {
    if (users_.empty()) co_return json_error(http::status::not_found, "no_login", "this web UI has no users; no login needed");
    const auto body = json::parse(request.body(), nullptr, false);
    if (!body.is_object() || !body.value("user", json()).is_string() || !body.value("password", json()).is_string()) {
      co_return json_error(http::status::bad_request, "bad_body", "expected {\"user\": \"…\", \"password\": \"…\"}");
    }
    const auto name = body["user"].get<std::string>();
    auto password = body["password"].get<std::string>();
    if (name.empty() || name.size() > 128 || password.size() > 1024) {
      co_return json_error(http::status::unauthorized, "bad_login", "wrong user name or password");
    }
    const auto wait = throttle_.wait(name, Clock::now());
    if (wait.count() > 0) {
      logins_->add({"throttled"});
      auto response = json_error(http::status::too_many_requests, "throttled",
                                 "too many failed logins for this account; try again in " + std::to_string(wait.count()) + " s");
      response.set(http::field::retry_after, std::to_string(wait.count()));
      co_return response;
    }
    const auto account = users_.find(name);
    const auto& hash = account == users_.end() ? decoy_ : account->second.hash;
    auto verification = verify_off_loop(std::move(password), hash);
    const bool match = co_await asio::co_spawn(kdf_pool_, std::move(verification), asio::use_awaitable);
    if (!match || account == users_.end()) {
      throttle_.failed(name, Clock::now());
      logins_->add({"failed"});
      spdlog::warn("web UI: failed login for \"{}\"", name);
      co_return json_error(http::status::unauthorized, "bad_login", "wrong user name or password");
    }
    throttle_.succeeded(name);
    logins_->add({"ok"});
    // A new id at every login: a session id planted before login is worth nothing after.
    if (const auto old = find_cookie(field(request, http::field::cookie), session_cookie)) sessions_.remove(*old);
    const auto& session = sessions_.create(name, account->second.roles, Clock::now());
    spdlog::info("web UI: {} logged in", name);
    co_return login_response(session);
  }

  tcp::acceptor acceptor_;
  OriginPolicy origins_;
  std::map<std::string, Account, std::less<>> users_;
  PasswordHash decoy_;
  std::string local_csrf_;
  SessionStore sessions_;
  LoginThrottle throttle_;
  std::unique_ptr<Metrics> own_metrics_;
  MetricFamily* logins_ = nullptr;
  bool running_ = false;
  std::uint64_t subscription_ = 0;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, beast::tcp_stream*> connections_;
  std::map<std::uint64_t, EventStream*> event_streams_;
  std::optional<audit::SqliteStore> audit_store_;
  bool verifying_ = false;
  asio::thread_pool kdf_pool_{1};
  asio::thread_pool verify_pool_{1};
};

UiServer::UiServer(asio::io_context& io, UiServerOptions options, ApprovalDesk& desk)
    : state_(std::make_shared<State>(io, std::move(options), desk)) {}

UiServer::~UiServer() { stop(); }

void UiServer::start() { state_->start(); }
void UiServer::stop() { state_->stop(); }
std::string UiServer::host() const { return state_->host_; }
unsigned short UiServer::port() const { return state_->port_; }
std::string UiServer::url() const { return state_->url(); }
const std::string& UiServer::local_approver() const { return state_->options_.local_approver; }

}  // namespace sluice::webui
