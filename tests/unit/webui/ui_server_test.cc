// UiServer over real loopback HTTP, with an in-memory desk: what a browser (or an
// attacker's page) can and cannot make it do.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "audit/sqlite_store.h"
#include "support/async_test.h"
#include "support/memory_desk.h"
#include "webui/password.h"
#include "webui/ui_server.h"

using namespace sluice;
using namespace sluice::webui;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  [[nodiscard]] json parsed() const { return json::parse(body); }
  [[nodiscard]] std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::map<std::string, std::string>;

struct Call {
  http::verb method;
  std::string target;
  std::string body;
  Headers headers;
};

asio::awaitable<Reply> send(unsigned short port, Call call) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  http::request<http::string_body> request{call.method, call.target, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : call.headers) request.set(name, value);
  request.body() = call.body;
  request.prepare_payload();
  co_await http::async_write(socket, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(socket, buffer, response, asio::use_awaitable);
  Reply reply;
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string().data(), field.name_string().size());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value().data(), field.value().size());
  }
  reply.body = response.body();
  co_return reply;
}

// One header. (Braced lists of string literals inside a coroutine trip GCC 12.)
Headers header(std::string name, std::string value) {
  Headers headers;
  headers.emplace(std::move(name), std::move(value));
  return headers;
}

asio::awaitable<Reply> get(unsigned short port, std::string target, Headers headers = {}) {
  return send(port, {http::verb::get, std::move(target), {}, std::move(headers)});
}

asio::awaitable<Reply> post(unsigned short port, std::string target, std::string body, Headers headers) {
  return send(port, {http::verb::post, std::move(target), std::move(body), std::move(headers)});
}

webui::ApprovalView held_call(std::string tool = "deployments_scale") {
  webui::ApprovalView view;
  view.session = "s-1";
  view.principal = "agent";
  view.upstream = "kube";
  view.tool = std::move(tool);
  view.tool_class = "mutate";
  view.rule = "prod-changes";
  view.reason = "production needs a human";
  view.arguments = {{"namespace", "prod"}, {"replicas", 3}};
  view.quorum = 1;
  return view;
}

// What a page of this server sends with a POST.
std::map<std::string, std::string> same_origin(unsigned short port, const std::string& token) {
  return {{"Origin", "http://127.0.0.1:" + std::to_string(port)}, {"X-CSRF-Token", token}, {"Content-Type", "application/json"}};
}

UiServerOptions local_options() {
  UiServerOptions options;
  options.address = "127.0.0.1:0";
  options.local_approver = "operator";
  return options;
}

const std::string& quick_hash() {
  static const std::string hash = hash_password("s3cret", {10, 8, 1});
  return hash;
}

UiServerOptions login_options() {
  auto options = local_options();
  options.users = {{"alice", quick_hash(), {"approver"}}, {"viewer", quick_hash(), {}}};
  options.throttle = {3, std::chrono::seconds(30), std::chrono::minutes(15), 100};
  return options;
}

// A started server on a free loopback port, with its desk and loop.
struct Served {
  explicit Served(UiServerOptions options) : server(io, std::move(options), desk) { server.start(); }
  asio::io_context io;
  test::MemoryDesk desk;
  UiServer server;
};

std::string cookie_of(const Reply& reply) {
  const auto set_cookie = reply.header("set-cookie");
  return set_cookie.substr(0, set_cookie.find(';'));
}

}  // namespace

TEST_CASE("without users the UI refuses to listen beyond loopback") {
  asio::io_context io;
  test::MemoryDesk desk;
  auto options = local_options();
  options.address = "0.0.0.0:0";
  CHECK_THROWS_WITH(UiServer(io, options, desk), Catch::Contains("not a loopback address"));
  options.address = "localhost";
  CHECK_THROWS_WITH(UiServer(io, options, desk), Catch::Contains("HOST:PORT"));
  options = login_options();
  options.users[0].password_hash = "plain-text";
  CHECK_THROWS_WITH(UiServer(io, options, desk), Catch::Contains("ui.users[alice].password"));
}

TEST_CASE("without users the local approver decides, with the page's CSRF token and origin") {
  Served ui(local_options());
  // Named references, not a structured binding: clang before 16 cannot capture a binding in a lambda.
  auto& io = ui.io;
  auto& desk = ui.desk;
  auto& server = ui.server;
  const auto port = server.port();
  REQUIRE(port != 0);
  const auto id = desk.hold(held_call());
  // Catch2 sections cannot open inside a coroutine (GCC 12), so each run picks its variant here.
  std::string variant;
  SECTION("a POST without the token is refused and decides nothing") { variant = "a POST without the token is refused and decides nothing"; }
  SECTION("a POST from another port on localhost is refused") { variant = "a POST from another port on localhost is refused"; }
  SECTION("a POST the browser marks cross-site is refused") { variant = "a POST the browser marks cross-site is refused"; }
  SECTION("a request for another host name (DNS rebinding) is refused") { variant = "a request for another host name (DNS rebinding) is refused"; }
  SECTION("the page's own POST is recorded as the local approver's vote") { variant = "the page's own POST is recorded as the local approver's vote"; }
  SECTION("an unknown or malformed id is 404") { variant = "an unknown or malformed id is 404"; }
  test::run_test(io, [&]() -> asio::awaitable<void> {
    const auto page = co_await get(port, "/");
    CHECK(page.status == 200);
    CHECK(page.header("content-security-policy").find("script-src 'self'") != std::string::npos);
    CHECK(page.header("content-security-policy").find("frame-ancestors 'none'") != std::string::npos);
    CHECK(page.header("x-frame-options") == "DENY");
    CHECK(page.header("x-content-type-options") == "nosniff");

    const auto session = co_await get(port, "/api/session");
    REQUIRE(session.status == 200);
    CHECK(session.parsed()["user"] == "operator");
    CHECK(session.parsed()["login"] == false);
    const auto token = session.parsed()["csrf_token"].get<std::string>();
    CHECK(token.size() == 32);

    const auto list = co_await get(port, "/api/approvals");
    REQUIRE(list.parsed()["requests"].size() == 1);
    CHECK(list.parsed()["requests"][0]["tool"] == "deployments_scale");

    const auto target = "/api/approvals/" + id + "/approve";
    const auto body = std::string(R"({"comment":"ok for prod"})");
    if (variant == "a POST without the token is refused and decides nothing") {
      auto headers = same_origin(port, token);
      headers.erase("X-CSRF-Token");
      const auto reply = co_await post(port, target, body, headers);
      CHECK(reply.status == 403);
      CHECK(reply.parsed()["error"] == "bad_csrf_token");
      CHECK(desk.decisions.empty());
    }
    if (variant == "a POST from another port on localhost is refused") {
      auto headers = same_origin(port, token);
      headers["Origin"] = "http://127.0.0.1:" + std::to_string(port + 1);
      const auto reply = co_await post(port, target, body, headers);
      CHECK(reply.status == 403);
      CHECK(desk.decisions.empty());
    }
    if (variant == "a POST the browser marks cross-site is refused") {
      auto headers = same_origin(port, token);
      headers["Sec-Fetch-Site"] = "cross-site";
      const auto reply = co_await post(port, target, body, headers);
      CHECK(reply.status == 403);
      CHECK(desk.decisions.empty());
    }
    if (variant == "a request for another host name (DNS rebinding) is refused") {
      auto headers = same_origin(port, token);
      headers["Host"] = "rebound.example:" + std::to_string(port);
      headers["Origin"] = "http://rebound.example:" + std::to_string(port);
      const auto reply = co_await post(port, target, body, headers);
      CHECK(reply.status == 421);
      const auto read = co_await get(port, "/api/approvals", header("Host", "rebound.example:1"));
      CHECK(read.status == 421);
      CHECK(desk.decisions.empty());
    }
    if (variant == "the page's own POST is recorded as the local approver's vote") {
      const auto reply = co_await post(port, target, body, same_origin(port, token));
      CHECK(reply.status == 200);
      CHECK(reply.parsed()["request"]["state"] == "approved");
      REQUIRE(desk.decisions.size() == 1);
      CHECK(desk.decisions[0].approver == "operator");
      CHECK(desk.decisions[0].comment == "ok for prod");
      const auto again = co_await post(port, target, body, same_origin(port, token));
      CHECK(again.status == 409);
      CHECK(again.parsed()["error"] == "not_pending");
      const auto history = co_await get(port, "/api/approvals/history");
      CHECK(history.parsed()["requests"].size() == 1);
    }
    if (variant == "an unknown or malformed id is 404") {
      const auto unknown = co_await get(port, "/api/approvals/" + std::string(32, 'a'));
      CHECK(unknown.status == 404);
      const auto malformed = co_await get(port, "/approvals/../../etc/passwd");
      CHECK(malformed.status == 404);
    }
    server.stop();
  });
}

TEST_CASE("with users every page and API needs a login, and a login rotates the session") {
  Served ui(login_options());
  auto& io = ui.io;
  auto& desk = ui.desk;
  auto& server = ui.server;
  const auto port = server.port();
  const auto id = desk.hold(held_call());
  const auto origin = header("Origin", "http://127.0.0.1:" + std::to_string(port));
  // Catch2 sections cannot open inside a coroutine (GCC 12), so each run picks its variant here.
  std::string variant;
  SECTION("a user without the approver role can look but not vote") { variant = "a user without the approver role can look but not vote"; }
  SECTION("the session's token, not another session's, authorises its POSTs; logout ends it") { variant = "the session's token, not another session's, authorises its POSTs; logout ends it"; }
  test::run_test(io, [&]() -> asio::awaitable<void> {
    const auto page = co_await get(port, "/approvals/" + id);
    CHECK(page.status == 303);
    CHECK(page.header("location") == "/login?next=/approvals/" + id);
    const auto api = co_await get(port, "/api/approvals");
    CHECK(api.status == 401);
    const auto login_page = co_await get(port, "/login");
    CHECK(login_page.status == 200);

    const auto wrong = co_await post(port, "/api/login", R"({"user":"alice","password":"nope"})", origin);
    CHECK(wrong.status == 401);
    const auto nobody = co_await post(port, "/api/login", R"({"user":"mallory","password":"s3cret"})", origin);
    CHECK(nobody.status == 401);
    CHECK(nobody.parsed()["message"] == wrong.parsed()["message"]);  // no hint which users exist
    const auto foreign = co_await post(port, "/api/login", R"({"user":"alice","password":"s3cret"})",
                                              header("Origin", "http://127.0.0.1:1"));
    CHECK(foreign.status == 403);

    const auto first = co_await post(port, "/api/login", R"({"user":"alice","password":"s3cret"})", origin);
    REQUIRE(first.status == 200);
    const auto set_cookie = first.header("set-cookie");
    CHECK(set_cookie.find("HttpOnly") != std::string::npos);
    CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
    CHECK(set_cookie.find("Path=/") != std::string::npos);
    const auto cookie = cookie_of(first);
    CHECK(cookie.size() == std::string("sluice_session=").size() + 32);

    const auto list = co_await get(port, "/api/approvals", header("Cookie", cookie));
    CHECK(list.status == 200);

    auto relogin_headers = origin;
    relogin_headers["Cookie"] = cookie;
    const auto second = co_await post(port, "/api/login", R"({"user":"alice","password":"s3cret"})", relogin_headers);
    REQUIRE(second.status == 200);
    CHECK(cookie_of(second) != cookie);
    const auto stale = co_await get(port, "/api/approvals", header("Cookie", cookie));
    CHECK(stale.status == 401);

    if (variant == "a user without the approver role can look but not vote") {
      const auto viewer = co_await post(port, "/api/login", R"({"user":"viewer","password":"s3cret"})", origin);
      REQUIRE(viewer.status == 200);
      auto headers = same_origin(port, viewer.parsed()["csrf_token"].get<std::string>());
      headers["Cookie"] = cookie_of(viewer);
      const auto vote = co_await post(port, "/api/approvals/" + id + "/approve", "{}", headers);
      CHECK(vote.status == 403);
      CHECK(vote.parsed()["error"] == "not_allowed");
    }
    if (variant == "the session's token, not another session's, authorises its POSTs; logout ends it") {
      auto headers = same_origin(port, first.parsed()["csrf_token"].get<std::string>());  // the rotated-away session's token
      headers["Cookie"] = cookie_of(second);
      const auto old_token = co_await post(port, "/api/approvals/" + id + "/deny", "{}", headers);
      CHECK(old_token.status == 403);
      headers["X-CSRF-Token"] = second.parsed()["csrf_token"].get<std::string>();
      const auto deny = co_await post(port, "/api/approvals/" + id + "/deny", R"({"comment":"no"})", headers);
      CHECK(deny.status == 200);
      CHECK(deny.parsed()["request"]["state"] == "denied");
      const auto logout = co_await post(port, "/api/logout", "", headers);
      CHECK(logout.status == 200);
      const auto after = co_await get(port, "/api/approvals", header("Cookie", cookie_of(second)));
      CHECK(after.status == 401);
    }
    server.stop();
  });
}

TEST_CASE("repeated bad logins for one account are answered 429 with Retry-After") {
  Served ui(login_options());
  auto& io = ui.io;
  auto& server = ui.server;
  const auto port = server.port();
  const auto origin = header("Origin", "http://127.0.0.1:" + std::to_string(port));
  test::run_test(io, [&]() -> asio::awaitable<void> {
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) {
      const auto reply = co_await post(port, "/api/login", R"({"user":"alice","password":"guess"})", origin);
      statuses.push_back(reply.status);
      if (reply.status == 429) CHECK(std::stoi(reply.header("retry-after")) >= 1);
    }
    CHECK(statuses == std::vector<int>{401, 401, 401, 429, 429});
    // Even the right password waits out the block.
    const auto right = co_await post(port, "/api/login", R"({"user":"alice","password":"s3cret"})", origin);
    CHECK(right.status == 429);
    const auto metrics = co_await get(port, "/metrics");
    CHECK(metrics.body.find("sluice_ui_logins_total{result=\"throttled\"} 3") != std::string::npos);
    server.stop();
  });
}

TEST_CASE("a new held call reaches an open event stream") {
  Served ui(local_options());
  auto& io = ui.io;
  auto& desk = ui.desk;
  auto& server = ui.server;
  const auto port = server.port();
  test::run_test(io, [&]() -> asio::awaitable<void> {
    tcp::socket socket(io);
    co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    const std::string request = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    std::string received;
    auto buffer = asio::dynamic_buffer(received);
    co_await asio::async_read_until(socket, buffer, "retry: 2000", asio::use_awaitable);
    CHECK(received.starts_with("HTTP/1.1 200 OK"));
    CHECK(received.find("text/event-stream") != std::string::npos);
    desk.hold(held_call("pods_delete"));
    co_await asio::async_read_until(socket, buffer, "\"tool\":\"pods_delete\"", asio::use_awaitable);
    CHECK(received.find("event: approval") != std::string::npos);
    server.stop();
  });
  CHECK(desk.subscribers() == 0);
}

TEST_CASE("/healthz follows the audit store's health and oversized requests are refused") {
  auto options = local_options();
  UiHealth health;
  options.health = [&health] { return health; };
  options.limits.body_bytes = 1024;
  Served ui(options);
  auto& io = ui.io;
  auto& server = ui.server;
  const auto port = server.port();
  test::run_test(io, [&]() -> asio::awaitable<void> {
    const auto ok = co_await get(port, "/healthz");
    CHECK(ok.status == 200);
    CHECK(ok.parsed()["status"] == "ok");
    health = {false, "disk I/O error", "connected"};
    const auto failing = co_await get(port, "/healthz");
    CHECK(failing.status == 503);
    CHECK(failing.parsed()["audit"]["error"] == "disk I/O error");
    const auto big = co_await post(port, "/api/logout", std::string(4096, 'x'), Headers());
    CHECK(big.status == 413);
    server.stop();
  });
}

TEST_CASE("the audit page queries the log read-only and verifies the chain off the loop") {
  const auto path = std::filesystem::temp_directory_path() / ("sluice-webui-audit-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    audit::SqliteStore store(path.string(), audit::Durability::normal);
    audit::AuditEvent decision;
    decision.kind = "decision";
    decision.tool = "deployments_scale";
    decision.decision = "require_approval";
    decision.arguments = header("note", "<script>alert(1)</script>");
    audit::AuditEvent session;
    session.kind = "session";
    store.append({session, decision, decision});
  }
  auto options = local_options();
  options.audit_path = path.string();
  Served ui(options);
  auto& io = ui.io;
  auto& server = ui.server;
  const auto port = server.port();
  test::run_test(io, [&]() -> asio::awaitable<void> {
    const auto session = co_await get(port, "/api/session");
    const auto token = session.parsed()["csrf_token"].get<std::string>();
    const auto all = co_await get(port, "/api/audit");
    REQUIRE(all.status == 200);
    CHECK(all.parsed()["events"].size() == 3);
    CHECK(all.parsed()["events"][0]["seq"] == 3);  // newest first
    const auto decisions = co_await get(port, "/api/audit?kind=decision&limit=1");
    REQUIRE(decisions.parsed()["events"].size() == 1);
    CHECK(decisions.parsed()["events"][0]["record"]["arguments"]["note"] == "<script>alert(1)</script>");
    const auto unknown = co_await get(port, "/api/audit?colour=red");
    CHECK(unknown.status == 400);
    const auto verified = co_await post(port, "/api/audit/verify", "{}", same_origin(port, token));
    REQUIRE(verified.status == 200);
    CHECK(verified.parsed()["ok"] == true);
    CHECK(verified.parsed()["events"] == 3);
    server.stop();
  });
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}
