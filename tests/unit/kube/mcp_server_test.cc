#include "kube/mcp_server.h"

#include <string>

#include <catch2/catch.hpp>

#include "mcp/stream_transport.h"
#include "support/async_test.h"

namespace sluice::kube {
using json = nlohmann::json;
namespace {

using test::Pipe;
using test::receive_line;
using test::run_test;

constexpr std::size_t limit = std::size_t{1} << 20;

// sluice-kube's server over real pipes, with one tool; the test is the client.
struct Harness {
  explicit Harness(asio::io_context& context)
      : client(context.get_executor(), to_client.release_read(), to_server.release_write(), limit),
        server_side(context.get_executor(), to_server.release_read(), to_client.release_write(), limit),
        server(context.get_executor(), server_side, ServerIdentity{"sluice-kube", "1.2.3", ""},
               {Tool{{{"name", "pods_list"}, {"inputSchema", {{"type", "object"}}}},
                     [](const json&) -> asio::awaitable<json> {
                       co_return json{{"content", json::array({{{"type", "text"}, {"text", "no pods"}}})}};
                     }}}) {
    asio::co_spawn(context, server.run(), asio::detached);
  }

  void send(json id, std::string_view method, json params) {
    client.send(mcp::Message::request(std::move(id), method, std::move(params)).wire());
  }
  asio::awaitable<json> answer() { co_return json::parse(co_await receive_line(client)); }

  Pipe to_server, to_client;
  mcp::StreamTransport client;
  mcp::StreamTransport server_side;
  McpServer server;
};

const json modern = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()}};

TEST_CASE(
    "sluice-kube serves a 2026-07-28 client: discover, resultType and serverInfo on every result, no ping") {
  asio::io_context io;
  Harness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.send(1, "server/discover", {{"_meta", modern}});
    const auto discover = co_await h.answer();
    CHECK(discover["result"]["supportedVersions"] == json::array({"2026-07-28"}));
    CHECK(discover["result"]["resultType"] == "complete");
    CHECK(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "sluice-kube");

    h.send(2, "tools/list", {{"_meta", modern}});
    const auto list = co_await h.answer();
    CHECK(list["result"]["tools"][0]["name"] == "pods_list");
    CHECK(list["result"]["ttlMs"] == 0);
    CHECK(list["result"]["cacheScope"] == "private");
    CHECK(list["result"]["resultType"] == "complete");

    h.send(3, "tools/call", {{"name", "pods_list"}, {"_meta", modern}});
    const auto call = co_await h.answer();
    CHECK(call["result"]["content"][0]["text"] == "no pods");
    CHECK(call["result"]["resultType"] == "complete");
    CHECK(call["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["version"] == "1.2.3");

    h.send(4, "ping", {{"_meta", modern}});
    const auto ping = co_await h.answer();
    CHECK(ping["error"]["code"] == -32601);
    h.send(5, "tools/list",
           {{"_meta",
             {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"},
              {"io.modelcontextprotocol/clientCapabilities", json::object()}}}});
    const auto other = co_await h.answer();
    CHECK(other["error"]["code"] == -32022);
    CHECK(other["error"]["data"]["supported"] == json::array({"2026-07-28"}));
    CHECK(other["error"]["data"]["requested"] == "2099-01-01");
    h.send(6, "tools/list", json::object());
    const auto bare = co_await h.answer();
    CHECK(bare["error"]["code"] == -32602);
  });
}

TEST_CASE("sluice-kube serves a 2025 client as before: no resultType, no discover") {
  asio::io_context io;
  Harness h(io);
  run_test(io, [&]() -> asio::awaitable<void> {
    h.send(0, "initialize", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()}});
    const auto init = co_await h.answer();
    CHECK(init["result"]["protocolVersion"] == "2025-06-18");
    h.send(1, "tools/list", json::object());
    const auto list = co_await h.answer();
    CHECK_FALSE(list["result"].contains("resultType"));
    CHECK_FALSE(list["result"].contains("ttlMs"));
    h.send(2, "tools/call", {{"name", "pods_list"}});
    const auto call = co_await h.answer();
    CHECK_FALSE(call["result"].contains("resultType"));
    CHECK_FALSE(call["result"].contains("_meta"));
    h.send(3, "server/discover", json::object());
    const auto discover = co_await h.answer();
    CHECK(discover["error"]["code"] == -32601);
  });
}

}  // namespace
}  // namespace sluice::kube
