#include "proxy/shared_upstream.h"

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "mcp/stream_transport.h"
#include "support/async_test.h"

namespace sluice::proxy {
namespace {

using mcp::json;
using test::Pipe;
using test::receive_json;
using test::receive_line;
using test::run_test;

constexpr std::size_t limit = std::size_t{1} << 20;
constexpr std::size_t max_queued = 4096;

// Two sessions' sides of one upstream, which is a real pipe pair; the test plays the
// server through `server` and the two sessions through `a` and `b`.
struct RouterHarness {
  explicit RouterHarness(asio::io_context& io)
      : upstream(io.get_executor(), from_server.release_read(), to_server.release_write(), limit),
        server(io.get_executor(), to_server.release_read(), from_server.release_write(), limit),
        router(io.get_executor(), upstream, mcp::ParseLimits{limit, 128}, max_queued),
        a(router.attach()),
        b(router.attach()) {
    asio::co_spawn(io, router.run(), asio::detached);
  }

  Pipe to_server, from_server;
  mcp::StreamTransport upstream;
  mcp::StreamTransport server;
  SharedUpstream router;
  std::unique_ptr<mcp::Transport> a;
  std::unique_ptr<mcp::Transport> b;
};

// The next message from `transport` must be `expected`.
asio::awaitable<void> expect(mcp::Transport& transport, const json& expected) {
  const auto got = co_await receive_json(transport);
  CHECK(got == expected);
}

// The stream from `transport` must end before anything else arrives.
asio::awaitable<void> expect_end(mcp::Transport& transport) {
  const auto frame = co_await transport.receive();
  CHECK_FALSE(frame.has_value());
}

json request_json(int id, std::string_view method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json result_json(const json& id, json value) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(value)}};
}

json notification(std::string_view method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

TEST_CASE("colliding request ids of two sessions reach the upstream apart and come back to their owners") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(1, "tools/call", {{"name", "echo"}}).dump());
    h.b->send(request_json(1, "tools/call", {{"name", "echo"}}).dump());
    const auto first = co_await receive_json(h.server);
    const auto second = co_await receive_json(h.server);
    REQUIRE(first["id"] != second["id"]);
    // Answered in the other order: each session still gets the answer to its own call.
    h.server.send(result_json(second["id"], {{"who", "b"}}).dump());
    h.server.send(result_json(first["id"], {{"who", "a"}}).dump());
    const auto to_b = co_await receive_json(*h.b);
    const auto to_a = co_await receive_json(*h.a);
    CHECK(to_a == result_json(1, {{"who", "a"}}));
    CHECK(to_b == result_json(1, {{"who", "b"}}));
  });
}

TEST_CASE("progress of a request goes to the session that asked, under its own token") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(7, "tools/call", {{"name", "long"}, {"_meta", {{"progressToken", 7}}}}).dump());
    h.b->send(request_json(7, "tools/call", {{"name", "long"}, {"_meta", {{"progressToken", 7}}}}).dump());
    const auto from_a = co_await receive_json(h.server);
    const auto from_b = co_await receive_json(h.server);
    const auto token_a = from_a["params"]["_meta"]["progressToken"];
    const auto token_b = from_b["params"]["_meta"]["progressToken"];
    REQUIRE(token_a != token_b);
    h.server.send(
        notification("notifications/progress", {{"progressToken", token_b}, {"progress", 1}}).dump());
    h.server.send(result_json(from_b["id"], json::object()).dump());
    h.server.send(result_json(from_a["id"], json::object()).dump());
    const json expected1 = notification("notifications/progress", {{"progressToken", 7}, {"progress", 1}});
    co_await expect(*h.b, expected1);
    co_await expect(*h.b, result_json(7, json::object()));
    // a's first message is its answer: b's progress never reached it.
    co_await expect(*h.a, result_json(7, json::object()));
  });
}

// A message on a 2026-07-28 subscriptions/listen stream, naming the listen request.
json on_subscription(std::string_view method, const json& listen_id) {
  return notification(method, {{"_meta", {{"io.modelcontextprotocol/subscriptionId", listen_id}}}});
}

TEST_CASE("a subscription's messages go to the session that listens, naming its own listen request") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(3, "subscriptions/listen").dump());
    h.b->send(request_json(3, "tools/list").dump());
    const auto listen = co_await receive_json(h.server);
    const auto list = co_await receive_json(h.server);
    h.server.send(on_subscription("notifications/subscriptions/acknowledged", listen["id"]).dump());
    h.server.send(on_subscription("notifications/tools/list_changed", listen["id"]).dump());
    h.server.send(result_json(list["id"], json::object()).dump());
    co_await expect(*h.a, on_subscription("notifications/subscriptions/acknowledged", 3));
    co_await expect(*h.a, on_subscription("notifications/tools/list_changed", 3));
    // b's first message is its answer: a's subscription never reached it.
    co_await expect(*h.b, result_json(3, json::object()));
  });
}

TEST_CASE("a cancellation names the upstream's id of the session's own request") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.b->send(request_json(3, "tools/call").dump());
    h.a->send(request_json(3, "tools/call").dump());
    co_await receive_json(h.server);
    const auto from_a = co_await receive_json(h.server);
    h.a->send(notification("notifications/cancelled", {{"requestId", 3}}).dump());
    const json expected2 = notification("notifications/cancelled", {{"requestId", from_a["id"]}});
    co_await expect(h.server, expected2);
  });
}

TEST_CASE("a request from the server goes to one session and only its answer goes back") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(1, "tools/call").dump());
    h.b->send(request_json(1, "tools/call", {{"name", "trigger-elicitation"}}).dump());
    co_await receive_json(h.server);
    co_await receive_json(h.server);
    const auto ask = request_json(0, "elicitation/create", {{"message", "name?"}});
    h.server.send(ask.dump());
    co_await expect(*h.b, ask);
    h.a->send(result_json(0, {{"action", "accept"}}).dump());  // not a's to answer: dropped
    h.b->send(result_json(0, {{"action", "decline"}}).dump());
    const json expected3 = result_json(0, {{"action", "decline"}});
    co_await expect(h.server, expected3);
  });
}

TEST_CASE("a notification of no request reaches every session") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    const auto changed = json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}};
    h.server.send(changed.dump());
    co_await expect(*h.a, changed);
    co_await expect(*h.b, changed);
  });
}

TEST_CASE("the upstream is initialized once and every session gets the result under its own id") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(0, "initialize", {{"protocolVersion", "2025-06-18"}}).dump());
    h.b->send(request_json(5, "initialize", {{"protocolVersion", "2025-06-18"}}).dump());
    const auto initialize = co_await receive_json(h.server);
    CHECK(initialize["method"] == "initialize");
    const json answer = {{"protocolVersion", "2025-06-18"}, {"serverInfo", {{"name", "s"}}}};
    h.server.send(result_json(initialize["id"], answer).dump());
    co_await expect(*h.a, result_json(0, answer));
    co_await expect(*h.b, result_json(5, answer));
    const auto initialized = json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
    h.a->send(initialized.dump());
    h.b->send(initialized.dump());
    h.b->send(request_json(6, "ping").dump());
    co_await expect(h.server, initialized);
    const auto next = co_await receive_json(h.server);
    CHECK(next["method"] == "ping");  // not a second initialized
    auto late = h.router.attach();
    late->send(request_json(0, "initialize", {{"protocolVersion", "2025-06-18"}}).dump());
    co_await expect(*late, result_json(0, answer));
  });
}

TEST_CASE("a session's end cancels its requests and leaves the upstream to the others") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(request_json(1, "tools/call").dump());
    const auto from_a = co_await receive_json(h.server);
    h.a->close();
    co_await expect_end(*h.a);
    const json expected4 = notification(
        "notifications/cancelled", {{"requestId", from_a["id"]}, {"reason", "the client session ended"}});
    co_await expect(h.server, expected4);
    CHECK(h.router.sessions() == 1);
    h.b->send(request_json(1, "ping").dump());
    const auto from_b = co_await receive_json(h.server);
    h.server.send(result_json(from_b["id"], json::object()).dump());
    co_await expect(*h.b, result_json(1, json::object()));
  });
}

TEST_CASE("a session that leaves too much unread is detached and the others go on") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    const auto line = json{{"jsonrpc", "2.0"},
                           {"method", "notifications/message"},
                           {"params", {{"data", std::string(1000, 'x')}}}};
    // b reads as it goes; a reads nothing until its queue is over the bound.
    for (int i = 0; i < 6; ++i) {
      h.server.send(line.dump());
      co_await expect(*h.b, line);
    }
    CHECK(h.router.sessions() == 1);
    co_await expect_end(*h.a);
  });
}

TEST_CASE("the upstream's end ends every session") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.server.close_send();
    co_await expect_end(*h.a);
    co_await expect_end(*h.b);
    CHECK(h.router.ended());
    CHECK_FALSE(h.b->can_send());
  });
}

TEST_CASE("a plain message keeps its bytes but for its id; a repeated id key is parsed, so only one id goes on") {
  asio::io_context io;
  RouterHarness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.a->send(R"({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"echo","arguments":{"k":"a\"b\u00e9"}}})");
    const auto forwarded = co_await receive_line(h.server);
    const auto upstream_id = json::parse(forwarded)["id"];
    CHECK(forwarded == R"({"jsonrpc":"2.0","id":)" + upstream_id.dump() +
                           R"(,"method":"tools/call","params":{"name":"echo","arguments":{"k":"a\"b\u00e9"}}})");
    h.server.send(R"({"jsonrpc":"2.0","id":)" + upstream_id.dump() + R"(,"result":{"text":"\u00e9"}})");
    const auto answer = co_await receive_line(*h.a);
    CHECK(answer == R"({"jsonrpc":"2.0","id":"x","result":{"text":"\u00e9"}})");

    // Two ids: another reader might take the first; the parsed message has only the last, rewritten.
    h.b->send(R"({"jsonrpc":"2.0","id":11,"id":12,"method":"ping"})");
    const auto parsed = co_await receive_json(h.server);
    CHECK(parsed.size() == 3);
    CHECK(parsed["id"] != 11);
    CHECK(parsed["id"] != 12);
    h.server.send(result_json(parsed["id"], json::object()).dump());
    co_await expect(*h.b, result_json(12, json::object()));
  });
}

}  // namespace
}  // namespace sluice::proxy
