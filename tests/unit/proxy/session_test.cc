#include "proxy/session.h"

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/stream_transport.h"
#include "proxy/pipeline.h"
#include "support/async_test.h"

namespace sluice::proxy {
namespace {

using mcp::json;
using mcp::Message;
using mcp::StreamTransport;
using test::Pipe;
using test::receive_json;
using test::receive_line;
using test::run_test;

constexpr std::size_t default_limit = std::size_t{1} << 20;

// A session between two pairs of real pipes. The test plays the MCP client through
// `client` and the upstream server through `server`.
struct Harness {
  explicit Harness(asio::io_context& context, std::size_t max_message_bytes = default_limit,
                   std::chrono::milliseconds request_timeout = SessionOptions{}.request_timeout)
      : io(context),
        client(io.get_executor(), to_client.release_read(), to_session.release_write(), max_message_bytes),
        session_client(io.get_executor(), to_session.release_read(), to_client.release_write(),
                       max_message_bytes),
        session_upstream(io.get_executor(), from_server.release_read(), to_server.release_write(),
                         max_message_bytes),
        server(io.get_executor(), to_server.release_read(), from_server.release_write(), max_message_bytes),
        session(io.get_executor(), session_client, session_upstream, pipeline,
                options(max_message_bytes, request_timeout)),
        ended(io.get_executor()) {}

  static SessionOptions options(std::size_t max_message_bytes, std::chrono::milliseconds request_timeout) {
    SessionOptions out;
    out.limits = mcp::ParseLimits{max_message_bytes, 128};
    out.request_timeout = request_timeout;
    return out;
  }

  void start() {
    asio::co_spawn(
        io,
        [this]() -> asio::awaitable<void> {
          end = co_await session.run();
          ended.notify_all();
        },
        asio::detached);
  }

  asio::awaitable<SessionEnd> finished() {
    while (!end) co_await ended.wait();
    co_return *end;
  }

  asio::io_context& io;
  Pipe to_session, to_client, to_server, from_server;
  StreamTransport client;
  StreamTransport session_client;
  StreamTransport session_upstream;
  StreamTransport server;
  Pipeline pipeline;
  Session session;
  std::optional<SessionEnd> end;
  mcp::AsyncEvent ended;
};

// Every message the transport delivers until its end of stream.
asio::awaitable<std::vector<json>> receive_until_end(mcp::Transport& transport) {
  std::vector<json> messages;
  while (auto frame = co_await transport.receive()) messages.push_back(json::parse(frame->text));
  co_return messages;
}

std::string request(json id, std::string_view method, json params = nullptr) {
  return Message::request(std::move(id), method, std::move(params)).wire();
}

std::string result(json id, json value) { return Message::result(std::move(id), std::move(value)).wire(); }

// Forwards everything; installing it makes the session run each message in its own coroutine.
class ForwardAll final : public Filter {
 public:
  asio::awaitable<Verdict> on_message(Exchange&) override { co_return Verdict::forward(); }
};

// Holds every message with `method` until release(), then forwards it.
class HoldMethod final : public Filter {
 public:
  HoldMethod(const asio::any_io_executor& executor, std::string method)
      : method_(std::move(method)), gate_(executor) {}

  asio::awaitable<Verdict> on_message(Exchange& exchange) override {
    if (exchange.message.method() == method_) {
      ++held_;
      while (!released_) co_await gate_.wait();
    }
    co_return Verdict::forward();
  }

  void release() {
    released_ = true;
    gate_.notify_all();
  }
  [[nodiscard]] int held() const { return held_; }

 private:
  std::string method_;
  mcp::AsyncEvent gate_;
  bool released_ = false;
  int held_ = 0;
};

// Answers requests with `method` in the peer's place.
class AnswerMethod final : public Filter {
 public:
  explicit AnswerMethod(std::string method) : method_(std::move(method)) {}

  asio::awaitable<Verdict> on_message(Exchange& exchange) override {
    if (exchange.message.is_request() && exchange.message.method() == method_) {
      co_return Verdict::answer(Message::result(exchange.message.id(), json{{"answeredBy", "sluice"}}));
    }
    co_return Verdict::forward();
  }

 private:
  std::string method_;
};

// Fails on every message with `method`.
class FailOn final : public Filter {
 public:
  explicit FailOn(std::string method) : method_(std::move(method)) {}

  asio::awaitable<Verdict> on_message(Exchange& exchange) override {
    if (exchange.message.method() == method_) throw std::runtime_error("policy store unavailable");
    co_return Verdict::forward();
  }

 private:
  std::string method_;
};

// Takes every tools/call over: answers the client at once, holds the call until
// release(), then forwards it; whatever answers it then is kept in `answers`.
class TakeOver final : public Filter {
 public:
  explicit TakeOver(const asio::any_io_executor& executor) : gate_(executor) {}

  asio::awaitable<Verdict> on_message(Exchange& exchange) override {
    if (!exchange.message.is_request() || exchange.message.method() != "tools/call") co_return Verdict::forward();
    exchange.session.take_over(exchange.message, Message::result(exchange.message.id(), json{{"task", "t1"}}),
                               [this](const Message& answer) { answers.push_back(answer.body()); });
    while (!released_) co_await gate_.wait();
    co_return Verdict::forward();
  }

  void release() {
    released_ = true;
    gate_.notify_all();
  }
  std::vector<json> answers;

 private:
  mcp::AsyncEvent gate_;
  bool released_ = false;
};

TEST_CASE("a client request reaches the upstream byte for byte and its response comes back") {
  asio::io_context io;
  Harness h(io);
  SECTION("with no filter") {}
  SECTION("with a filter that forwards everything") { h.pipeline.add(std::make_unique<ForwardAll>()); }
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    const std::string call =
        R"({ "jsonrpc":"2.0", "id":1 , "method":"tools/list","params":{"cursor":"a\u00e9"} })";
    h.client.send(call);
    const auto forwarded = co_await receive_line(h.server);
    CHECK(forwarded == call);
    CHECK(h.session.pending_requests() == 1);

    const std::string response = R"({"result":{"tools":[]}, "id":1,"jsonrpc":"2.0"})";
    h.server.send(response);
    const auto relayed = co_await receive_line(h.client);
    CHECK(relayed == response);
    CHECK(h.session.pending_requests() == 0);
  });
}

TEST_CASE("a server request and a client request with the same id are kept apart") {
  asio::io_context io;
  Harness h(io);
  bool client_answers_first = false;
  SECTION("the client answers first") { client_answers_first = true; }
  SECTION("the server answers first") {}
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(0, "tools/call", {{"name", "slow"}}));
    const auto call = co_await receive_json(h.server);
    CHECK(call["method"] == "tools/call");
    h.server.send(request(0, "roots/list"));
    const auto server_request = co_await receive_json(h.client);
    CHECK(server_request["method"] == "roots/list");
    CHECK(server_request["id"] == 0);

    const auto client_answers = [&]() -> asio::awaitable<void> {
      h.client.send(result(0, {{"roots", json::array()}}));
      const auto roots = co_await receive_json(h.server);
      CHECK(roots["id"] == 0);
      CHECK(roots["result"].contains("roots"));
    };
    if (client_answers_first) {
      co_await client_answers();
      CHECK(h.session.pending_requests() == 1);  // the client's own request 0 still waits
    }
    h.server.send(result(0, {{"content", json::array()}}));
    const auto call_result = co_await receive_json(h.client);
    CHECK(call_result["id"] == 0);
    CHECK(call_result["result"].contains("content"));
    CHECK(h.session.pending_requests() == 0);
    if (!client_answers_first) co_await client_answers();
  });
}

TEST_CASE("an unusable line from the client is answered with an error and the session goes on") {
  asio::io_context io;
  Harness h(io, 256);
  std::string line;
  int code = 0;
  json id;
  SECTION("not JSON") {
    line = "this is not json";
    code = -32700;
  }
  SECTION("JSON but not JSON-RPC, with a readable id") {
    line = R"({"id":5,"method":"ping"})";
    code = -32600;
    id = 5;
  }
  SECTION("a line over the limit") {
    line = request(6, "tools/call", {{"text", std::string(300, 'x')}});
    code = -32600;
  }
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(line);
    const auto error = co_await receive_json(h.client);
    CHECK(error["id"] == id);
    CHECK(error["error"]["code"] == code);

    h.client.send(request(1, "ping"));
    const auto first_at_server = co_await receive_json(h.server);
    CHECK(first_at_server["method"] == "ping");
    h.server.send(result(1, json::object()));
    const auto pong = co_await receive_json(h.client);
    CHECK(pong["id"] == 1);
  });
}

TEST_CASE("a batch gets one array reply once the upstream has answered each request in it") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(
        R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},)"
        R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}},)"
        R"({"jsonrpc":"2.0","id":2,"method":"ping"}])");
    // The upstream sees the elements one per line.
    const auto first = co_await receive_json(h.server);
    const auto second = co_await receive_json(h.server);
    const auto third = co_await receive_json(h.server);
    CHECK(first == json::parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"));
    CHECK(second["method"] == "notifications/progress");
    CHECK(third == json::parse(R"({"jsonrpc":"2.0","id":2,"method":"ping"})"));

    h.server.send(result(2, {{"pong", true}}));
    // Relayed in order after that response: if it arrives first, no partial reply was sent.
    h.server.send(Message::notification("notifications/message", {{"level", "info"}}).wire());
    const auto log = co_await receive_json(h.client);
    CHECK(log["method"] == "notifications/message");

    h.server.send(result(1, {{"tools", json::array()}}));
    const auto reply = co_await receive_json(h.client);
    REQUIRE(reply.is_array());
    REQUIRE(reply.size() == 2);
    std::set<int> ids;
    for (const auto& response : reply) {
      ids.insert(response["id"].get<int>());
      if (response["id"] == 1) CHECK(response["result"].contains("tools"));
      if (response["id"] == 2) CHECK(response["result"]["pong"] == true);
    }
    CHECK(ids == std::set<int>{1, 2});
  });
}

TEST_CASE("an invalid element of a batch is answered inside the batch's reply") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},42])");
    const auto ping = co_await receive_json(h.server);
    CHECK(ping["id"] == 1);
    h.server.send(result(1, json::object()));

    const auto reply = co_await receive_json(h.client);
    REQUIRE(reply.is_array());
    REQUIRE(reply.size() == 2);
    const auto& error = reply[0].contains("error") ? reply[0] : reply[1];
    const auto& pong = reply[0].contains("error") ? reply[1] : reply[0];
    CHECK(error["id"].is_null());
    CHECK(error["error"]["code"] == -32600);
    CHECK(pong["id"] == 1);
    CHECK(pong.contains("result"));
  });
}

TEST_CASE("a batch of notifications gets no reply") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(R"([{"jsonrpc":"2.0","method":"notifications/initialized"},)"
                  R"({"jsonrpc":"2.0","method":"notifications/roots/list_changed"}])");
    h.client.send(request(9, "ping"));
    const auto first = co_await receive_json(h.server);
    const auto second = co_await receive_json(h.server);
    const auto ping = co_await receive_json(h.server);
    CHECK(first["method"] == "notifications/initialized");
    CHECK(second["method"] == "notifications/roots/list_changed");
    CHECK(ping["id"] == 9);
    h.server.send(result(9, json::object()));
    // A reply to the batch, even an empty array, would have come first.
    const auto next = co_await receive_json(h.client);
    CHECK(next.is_object());
    CHECK(next["id"] == 9);
  });
}

TEST_CASE("a request reusing the id of one in flight is refused without being forwarded") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "slow"}}));
    const auto call = co_await receive_json(h.server);
    CHECK(call["method"] == "tools/call");

    h.client.send(request(1, "ping"));
    const auto refusal = co_await receive_json(h.client);
    CHECK(refusal["id"] == 1);
    CHECK(refusal["error"]["code"] == -32600);

    h.client.send(request(2, "ping"));
    const auto next_at_server = co_await receive_json(h.server);
    CHECK(next_at_server["id"] == 2);

    h.server.send(result(1, {{"content", json::array()}}));
    const auto call_result = co_await receive_json(h.client);
    CHECK(call_result["id"] == 1);
    CHECK(call_result["result"].contains("content"));
  });
}

TEST_CASE("an id can be used again once its response has arrived") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    for (int round = 0; round < 2; ++round) {
      h.client.send(request(1, "ping"));
      const auto ping = co_await receive_json(h.server);
      CHECK(ping["id"] == 1);
      h.server.send(result(1, json::object()));
      const auto pong = co_await receive_json(h.client);
      CHECK(pong["id"] == 1);
      CHECK(pong.contains("result"));
    }
  });
}

TEST_CASE("a numeric id and a string id with the same digits are different requests") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(7, "ping"));
    h.client.send(request("7", "ping"));
    const auto first = co_await receive_json(h.server);
    const auto second = co_await receive_json(h.server);
    CHECK(first["id"] == 7);
    CHECK(second["id"] == "7");
    CHECK(h.session.pending_requests() == 2);
  });
}

TEST_CASE("when the upstream's output ends, each request in flight is answered with -31001") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "a"}}));
    h.client.send(request("b", "tools/call", {{"name", "b"}}));
    co_await receive_json(h.server);
    co_await receive_json(h.server);

    h.server.close_send();
    const auto end = co_await h.finished();
    CHECK(end == SessionEnd::upstream_closed);
    CHECK(h.session.pending_requests() == 0);

    // Closing the session's side lets the client read exactly what it was sent.
    h.session_client.close_send();
    const auto answers = co_await receive_until_end(h.client);
    REQUIRE(answers.size() == 2);
    std::set<std::string> ids;
    for (const auto& answer : answers) {
      CHECK(answer["error"]["code"] == -31001);
      ids.insert(answer["id"].dump());
    }
    CHECK(ids == std::set<std::string>{"1", "\"b\""});
  });
}

TEST_CASE("a request the client cancelled is not answered when the upstream ends") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "slow"}}));
    h.client.send(request(2, "tools/call", {{"name", "slow"}}));
    h.client.send(Message::notification("notifications/cancelled", {{"requestId", 1}}).wire());
    co_await receive_json(h.server);
    co_await receive_json(h.server);
    const auto cancellation = co_await receive_json(h.server);
    CHECK(cancellation["method"] == "notifications/cancelled");
    CHECK(h.session.pending_requests() == 1);

    h.server.close_send();
    const auto end = co_await h.finished();
    CHECK(end == SessionEnd::upstream_closed);
    h.session_client.close_send();
    const auto answers = co_await receive_until_end(h.client);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0]["id"] == 2);
    CHECK(answers[0]["error"]["code"] == -31001);
  });
}

TEST_CASE("when the client closes its input the session ends and the upstream sees end of input") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.close_send();
    const auto end = co_await h.finished();
    CHECK(end == SessionEnd::client_closed);
    const auto upstream_input = co_await h.server.receive();
    CHECK_FALSE(upstream_input.has_value());
  });
}

TEST_CASE("responses the upstream sends after the client closed its input still reach the client") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "slow"}}));
    h.client.close_send();
    const auto call = co_await receive_json(h.server);
    CHECK(call["id"] == 1);
    const auto end = co_await h.finished();
    CHECK(end == SessionEnd::client_closed);
    const auto upstream_input = co_await h.server.receive();
    CHECK_FALSE(upstream_input.has_value());

    h.server.send(result(1, {{"content", json::array()}}));
    h.server.close_send();
    const auto late = co_await receive_json(h.client);
    CHECK(late["id"] == 1);
    CHECK(late.contains("result"));
    co_await h.session.upstream_ended();
  });
}

TEST_CASE("a request a filter holds does not hold up the messages behind it") {
  asio::io_context io;
  Harness h(io);
  auto hold = std::make_unique<HoldMethod>(io.get_executor(), "tools/call");
  auto* held_calls = hold.get();
  h.pipeline.add(std::move(hold));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "deploy"}}));
    h.client.send(request(2, "ping"));

    const auto ping = co_await receive_json(h.server);
    CHECK(ping["method"] == "ping");
    h.server.send(result(2, json::object()));
    const auto pong = co_await receive_json(h.client);
    CHECK(pong["id"] == 2);
    CHECK(held_calls->held() == 1);
    CHECK(h.session.pending_requests() == 1);

    held_calls->release();
    const auto call = co_await receive_json(h.server);
    CHECK(call["method"] == "tools/call");
    CHECK(call["id"] == 1);
    h.server.send(result(1, {{"content", json::array()}}));
    const auto call_result = co_await receive_json(h.client);
    CHECK(call_result["id"] == 1);
  });
}

TEST_CASE("a held request the client cancels is never forwarded") {
  asio::io_context io;
  Harness h(io);
  auto hold = std::make_unique<HoldMethod>(io.get_executor(), "tools/call");
  auto* held_calls = hold.get();
  h.pipeline.add(std::move(hold));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "deploy"}}));
    h.client.send(Message::notification("notifications/cancelled", {{"requestId", 1}}).wire());
    const auto cancellation = co_await receive_json(h.server);
    CHECK(cancellation["method"] == "notifications/cancelled");
    CHECK(h.session.pending_requests() == 0);

    held_calls->release();
    h.client.send(request(2, "ping"));
    const auto next_at_server = co_await receive_json(h.server);
    CHECK(next_at_server["method"] == "ping");  // not the cancelled call
  });
}

TEST_CASE("a filter that answers a client request in place keeps it from the upstream") {
  asio::io_context io;
  Harness h(io);
  h.pipeline.add(std::make_unique<AnswerMethod>("tools/call"));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "deploy"}}));
    h.client.send(request(2, "ping"));

    const auto answer = co_await receive_json(h.client);
    CHECK(answer["id"] == 1);
    CHECK(answer["result"]["answeredBy"] == "sluice");
    const auto first_at_server = co_await receive_json(h.server);
    CHECK(first_at_server["method"] == "ping");
    CHECK(h.session.pending_requests() == 1);
  });
}

TEST_CASE("a filter that answers a server request in place sends the answer upstream") {
  asio::io_context io;
  Harness h(io);
  h.pipeline.add(std::make_unique<AnswerMethod>("sampling/createMessage"));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.server.send(request(4, "sampling/createMessage", {{"messages", json::array()}}));
    h.server.send(request(5, "ping"));

    const auto answer = co_await receive_json(h.server);
    CHECK(answer["id"] == 4);
    CHECK(answer["result"]["answeredBy"] == "sluice");
    const auto first_at_client = co_await receive_json(h.client);
    CHECK(first_at_client["method"] == "ping");
  });
}

TEST_CASE("a filter that throws fails only its request, with -32603") {
  asio::io_context io;
  Harness h(io);
  h.pipeline.add(std::make_unique<FailOn>("tools/call"));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "deploy"}}));
    const auto error = co_await receive_json(h.client);
    CHECK(error["id"] == 1);
    CHECK(error["error"]["code"] == -32603);
    CHECK(h.session.pending_requests() == 0);

    h.client.send(request(2, "ping"));
    const auto first_at_server = co_await receive_json(h.server);
    CHECK(first_at_server["method"] == "ping");
    h.server.send(result(2, json::object()));
    const auto pong = co_await receive_json(h.client);
    CHECK(pong["id"] == 2);
  });
}

TEST_CASE("a request of Sluice's own gets its answer from the upstream, which the client never sees") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    std::optional<std::optional<Message>> answer;
    mcp::AsyncEvent answered(io.get_executor());
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          answer = co_await h.session.ask_upstream("tools/list", json::object());
          answered.notify_all();
        },
        asio::detached);

    const auto own_request = co_await receive_json(h.server);
    CHECK(own_request["method"] == "tools/list");
    REQUIRE(own_request["id"].is_string());
    h.server.send(result(own_request["id"], {{"tools", json::array()}}));
    h.server.send(Message::notification("notifications/tools/list_changed").wire());

    while (!answer) co_await answered.wait();
    REQUIRE(answer->has_value());
    CHECK((*answer)->body()["result"].contains("tools"));
    // Relayed in order after the answer: had the answer reached the client, it would be first.
    const auto first_at_client = co_await receive_json(h.client);
    CHECK(first_at_client["method"] == "notifications/tools/list_changed");
  });
}

TEST_CASE("a request of Sluice's own gets no answer when the upstream ends first") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    std::optional<std::optional<Message>> answer;
    mcp::AsyncEvent answered(io.get_executor());
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          answer = co_await h.session.ask_upstream("tools/list", json::object());
          answered.notify_all();
        },
        asio::detached);

    const auto own_request = co_await receive_json(h.server);
    CHECK(own_request["method"] == "tools/list");
    h.server.close_send();
    while (!answer) co_await answered.wait();
    CHECK_FALSE(answer->has_value());
  });
}

// Asks the upstream a tools/list of Sluice's own and returns the request the upstream saw.
asio::awaitable<json> own_tools_list(asio::io_context& io, Harness& h) {
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { co_await h.session.ask_upstream("tools/list", json::object()); },
      asio::detached);
  auto own_request = co_await receive_json(h.server);
  h.server.send(result(own_request["id"], {{"tools", json::array()}}));
  co_return own_request;
}

TEST_CASE("a client request with an id of the form this session reserves is refused without being forwarded") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    // The id of Sluice's own request: the client must not be able to take its answer.
    const auto own = co_await own_tools_list(io, h);
    const auto own_id = own["id"].get<std::string>();
    CHECK(own_id.starts_with("sluice-"));
    h.client.send(request(own_id, "ping"));
    const auto refusal = co_await receive_json(h.client);
    CHECK(refusal["id"] == own_id);
    CHECK(refusal["error"]["code"] == -32600);

    SECTION("another Sluice's own ids pass: a Sluice may stand in front of this one") {
      h.client.send(request("sluice-0", "tools/list"));
      const auto at_server = co_await receive_json(h.server);
      CHECK(at_server["id"] == "sluice-0");
    }
    SECTION("the session goes on") {
      h.client.send(request(2, "ping"));
      const auto first_at_server = co_await receive_json(h.server);
      CHECK(first_at_server["id"] == 2);
    }
  });
}

TEST_CASE("a modern client's envelope travels on Sluice's own requests to the upstream") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    CHECK(h.session.era() == mcp::ProtocolEra::undetermined);
    // A modern client's first message may be a tools/call: its _meta decides the era.
    const json meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", {{"elicitation", json::object()}}},
                       {"progressToken", 4}};
    h.client.send(request(1, "tools/call", {{"name", "pods_list"}, {"_meta", meta}}));
    const auto call = co_await receive_json(h.server);
    CHECK(call["id"] == 1);
    CHECK(h.session.era() == mcp::ProtocolEra::modern);
    CHECK(h.session.client_capabilities() == json{{"elicitation", json::object()}});
    const auto own = co_await own_tools_list(io, h);
    CHECK(own["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28");
    CHECK(own["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]["elicitation"] == json::object());
    CHECK_FALSE(own["params"]["_meta"].contains("progressToken"));
  });
}

TEST_CASE("a 2025 client's era is fixed by initialize, and Sluice's own requests claim no version") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(0, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", {{"roots", json::object()}}}}));
    const auto initialize = co_await receive_json(h.server);
    CHECK(initialize["id"] == 0);
    h.client.send(request(1, "tools/list", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}}));
    const auto list = co_await receive_json(h.server);
    CHECK(list["id"] == 1);
    CHECK(h.session.era() == mcp::ProtocolEra::legacy);
    CHECK(h.session.client_capabilities() == json{{"roots", json::object()}});
    const auto own = co_await own_tools_list(io, h);
    CHECK_FALSE(own["params"].contains("_meta"));
  });
}

TEST_CASE("a request of Sluice's own to the client gets its answer there, which the upstream never sees") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    std::optional<json> answer;
    const auto id = h.session.ask_client("elicitation/create", {{"message", "approve?"}},
                                         [&](const Message& response) { answer = response.body(); });
    const auto asked = co_await receive_json(h.client);
    CHECK(asked["method"] == "elicitation/create");
    CHECK(asked["id"] == id);
    h.client.send(result(id, {{"action", "accept"}}));
    h.client.send(request(7, "ping"));
    const auto first_at_server = co_await receive_json(h.server);
    CHECK(first_at_server["id"] == 7);  // the answer did not go upstream before it
    REQUIRE(answer.has_value());
    CHECK((*answer)["result"]["action"] == "accept");

    // Withdrawn before it is answered: the client is told, and a late answer goes on
    // like any response.
    const auto second = h.session.ask_client("elicitation/create", json::object(), [&](const Message&) { FAIL("called"); });
    const auto asked_again = co_await receive_json(h.client);
    CHECK(asked_again["id"] == second);
    h.session.withdraw_from_client(second, "decided");
    const auto cancelled = co_await receive_json(h.client);
    CHECK(cancelled["method"] == "notifications/cancelled");
    CHECK(cancelled["params"]["requestId"] == second);
  });
}

TEST_CASE("a request Sluice took over is answered to the client at once, and its later answer stops at Sluice") {
  asio::io_context io;
  Harness h(io);
  auto filter = std::make_unique<TakeOver>(io.get_executor());
  auto& take_over = *filter;
  h.pipeline.add(std::move(filter));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "deploy"}}));
    const auto early = co_await receive_json(h.client);
    CHECK(early["id"] == 1);
    CHECK(early["result"]["task"] == "t1");

    // The client's id is free again, and the held call goes on under one of Sluice's.
    h.client.send(request(1, "ping"));
    const auto ping = co_await receive_json(h.server);
    CHECK(ping["method"] == "ping");
    take_over.release();
    const auto forwarded = co_await receive_json(h.server);
    CHECK(forwarded["method"] == "tools/call");
    REQUIRE(forwarded["id"].is_string());
    CHECK(forwarded["id"].get<std::string>().find("-task-") != std::string::npos);

    h.server.send(result(forwarded["id"], {{"content", json::array()}}));
    h.server.send(Message::notification("notifications/tools/list_changed").wire());
    // Relayed after the answer: had the answer reached the client, it would be first.
    const auto first_at_client = co_await receive_json(h.client);
    CHECK(first_at_client["method"] == "notifications/tools/list_changed");
    REQUIRE(take_over.answers.size() == 1);
    CHECK(take_over.answers[0]["id"] == forwarded["id"]);
    CHECK(take_over.answers[0]["result"].contains("content"));
  });
}

TEST_CASE("a request the upstream leaves unanswered past the request timeout is answered -31003 and cancelled upstream") {
  asio::io_context io;
  Harness h(io, default_limit, std::chrono::milliseconds(50));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "hang"}}));
    h.client.send(request(2, "tools/call", {{"name", "quick"}}));
    const auto seen1 = co_await receive_json(h.server);
    CHECK(seen1["id"] == 1);
    const auto seen2 = co_await receive_json(h.server);
    CHECK(seen2["id"] == 2);
    h.server.send(Message::result(2, {{"content", json::array()}}).wire());
    const auto answered = co_await receive_json(h.client);
    CHECK(answered["id"] == 2);
    CHECK(answered.contains("result"));

    const auto timed_out = co_await receive_json(h.client);
    CHECK(timed_out["id"] == 1);
    CHECK(timed_out["error"]["code"] == -31003);
    CHECK(timed_out["error"]["message"] ==
          "Upstream MCP server did not answer in time: no answer within 50ms (upstream.request_timeout); Sluice sent "
          "notifications/cancelled upstream");
    const auto cancellation = co_await receive_json(h.server);
    CHECK(cancellation["method"] == "notifications/cancelled");
    CHECK(cancellation["params"]["requestId"] == 1);
    CHECK(h.session.pending_requests() == 0);

    // The late answer is passed on (the client ignores what it no longer waits for),
    // and the session goes on.
    h.server.send(Message::result(1, {{"content", json::array()}}).wire());
    const auto seen3 = co_await receive_json(h.client);
    CHECK(seen3["id"] == 1);
    h.client.send(request(3, "ping"));
    const auto seen4 = co_await receive_json(h.server);
    CHECK(seen4["id"] == 3);
  });
}

TEST_CASE("initialize is timed out too, but never cancelled") {
  asio::io_context io;
  Harness h(io, default_limit, std::chrono::milliseconds(20));
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(0, "initialize", {{"protocolVersion", "2025-06-18"}}));
    const auto seen5 = co_await receive_json(h.server);
    CHECK(seen5["method"] == "initialize");
    const auto timed_out = co_await receive_json(h.client);
    CHECK(timed_out["error"]["code"] == -31003);
    CHECK(timed_out["error"]["message"] ==
          "Upstream MCP server did not answer in time: no answer within 20ms (upstream.request_timeout)");
    // The next thing the upstream sees is the client's next request, not a cancellation.
    h.client.send(request(1, "ping"));
    const auto seen6 = co_await receive_json(h.server);
    CHECK(seen6["method"] == "ping");
  });
}

TEST_CASE("an answer over the size limit that names a request in flight answers it with -31004") {
  asio::io_context io;
  Harness h(io, 1024);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "bloat"}}));
    const auto seen7 = co_await receive_json(h.server);
    CHECK(seen7["id"] == 1);
    // The TypeScript SDK's order: the id comes last.
    h.server.send(R"({"result":{"content":[{"type":"text","text":")" + std::string(4096, 'x') +
                  R"("}]},"jsonrpc":"2.0","id":1})");
    const auto answer = co_await receive_json(h.client);
    CHECK(answer["id"] == 1);
    CHECK(answer["error"]["code"] == -31004);
    CHECK(answer["error"]["message"].get<std::string>().find("over the 1024 byte limit") != std::string::npos);
    CHECK(h.session.pending_requests() == 0);
  });
}

TEST_CASE("after shut_down, requests the upstream does not answer before it ends get -31005") {
  asio::io_context io;
  Harness h(io);
  h.start();

  run_test(io, [&]() -> asio::awaitable<void> {
    h.client.send(request(1, "tools/call", {{"name", "slow"}}));
    const auto seen8 = co_await receive_json(h.server);
    CHECK(seen8["id"] == 1);
    h.session.shut_down();
    const auto end = co_await h.finished();
    CHECK(end == SessionEnd::client_closed);
    // The upstream sees the end of its input and goes, without answering.
    const auto more = co_await h.server.receive();
    CHECK_FALSE(more);
    h.server.close_send();
    co_await h.session.upstream_ended();
    h.session_client.close_send();
    const auto answers = co_await receive_until_end(h.client);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0]["error"]["code"] == -31005);
    CHECK(answers[0]["error"]["message"] == "Sluice is shutting down: the upstream was stopped before it answered");
  });
}

}  // namespace
}  // namespace sluice::proxy
