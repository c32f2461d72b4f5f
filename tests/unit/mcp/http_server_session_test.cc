#include "mcp/http_server_session.h"

#include <catch2/catch.hpp>

#include "mcp/sse.h"

namespace sluice::mcp {
namespace {

Parsed parsed(const std::string& text) { return parse_frame(text, ParseLimits{}); }

std::shared_ptr<ServerStream> post(HttpServerSession& session, const std::string& body, bool json_answer = false) {
  auto message = parsed(body);
  const auto summary = summarize_post(message);
  return session.post(std::move(message), body.size(), summary, json_answer);
}

// The data of every event the stream holds.
std::vector<std::string> events(const ServerStream& stream) {
  std::vector<std::string> out;
  for (auto seq = stream.first_held(); seq < stream.next_seq(); ++seq) out.push_back(stream.event(seq));
  return out;
}

}  // namespace

TEST_CASE("an SSE event carries its id and one data line per line") {
  CHECK(encode_sse_event("3-1", R"({"a":1})") == "id: 3-1\ndata: {\"a\":1}\n\n");
  CHECK(encode_sse_event("", "one\ntwo") == "data: one\ndata: two\n\n");
}

TEST_CASE("each message from the proxy goes to exactly one stream of the HTTP session") {
  asio::io_context io;
  HttpServerSession session(io.get_executor(), "anonymous", HttpSessionLimits{});
  CHECK(session.id().size() == 32);

  SECTION("a notification from the client opens no stream") {
    CHECK(post(session, R"({"jsonrpc":"2.0","method":"notifications/initialized"})") == nullptr);
  }
  SECTION("a response goes to the stream of its request, which then ends") {
    auto first = post(session, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
    auto second = post(session, R"({"jsonrpc":"2.0","id":"1","method":"ping"})");
    session.send(R"({"jsonrpc":"2.0","id":"1","result":{}})");
    CHECK(first->next_seq() == 0);
    CHECK(events(*second) == std::vector<std::string>{"id: 2-0\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{}}\n\n"});
    CHECK(second->finished());
    CHECK_FALSE(first->finished());
  }
  SECTION("progress goes to the stream of the request that asked for it") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"t"}}})");
    auto other = post(session, R"({"jsonrpc":"2.0","id":6,"method":"ping"})");
    session.send(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}})");
    CHECK(call->next_seq() == 1);
    CHECK(other->next_seq() == 0);
  }
  SECTION("a server request goes to the GET stream when one is open, else to the newest open POST stream") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x"}})");
    session.send(R"({"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}})");
    CHECK(call->next_seq() == 1);
    session.standalone()->attach();
    session.send(R"({"jsonrpc":"2.0","id":1,"method":"roots/list"})");
    CHECK(call->next_seq() == 1);
    CHECK(session.standalone()->next_seq() == 1);
  }
  SECTION("a client that accepts only JSON gets the response alone") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"ping"})", true);
    session.send(R"({"jsonrpc":"2.0","method":"notifications/message","params":{}})");
    session.send(R"({"jsonrpc":"2.0","id":5,"result":{}})");
    CHECK(events(*call) == std::vector<std::string>{R"({"jsonrpc":"2.0","id":5,"result":{}})"});
    CHECK(session.standalone()->next_seq() == 1);
  }
  SECTION("an SSE stream that carried only its answer offers it as a JSON answer") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
    session.send(R"({"jsonrpc":"2.0","id":5,"result":{}})");
    REQUIRE(call->finished());
    REQUIRE(call->has_sole_message());
    CHECK(call->take_sole_message() == R"({"jsonrpc":"2.0","id":5,"result":{}})");
    CHECK(call->first_unwritten() == call->next_seq());
    CHECK_FALSE(call->has_sole_message());
  }
  SECTION("an SSE stream that carried anything before its answer stays a stream") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"t"}}})");
    session.send(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}})");
    CHECK_FALSE(call->carried_several());
    session.send(R"({"jsonrpc":"2.0","id":5,"result":{}})");
    CHECK(call->finished());
    CHECK(call->carried_several());
    CHECK_FALSE(call->has_sole_message());
  }
  SECTION("an answer written as an SSE event is no JSON answer any more") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
    session.send(R"({"jsonrpc":"2.0","id":5,"result":{}})");
    call->mark_written(call->next_seq());
    CHECK_FALSE(call->has_sole_message());
  }
  SECTION("a cancelled request's stream ends without an answer") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x"}})");
    post(session, R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}})");
    CHECK(call->finished());
  }
  SECTION("a Last-Event-ID names its stream and the event to resume after") {
    auto call = post(session, R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
    CHECK(session.stream_of_event("1-4") == call);
    CHECK(call->parse_event_id("1-4") == std::optional<std::uint64_t>(4));
    CHECK_FALSE(call->parse_event_id("1-x").has_value());
    CHECK(session.stream_of_event("0-2") == session.standalone());
    CHECK(session.stream_of_event("9-0") == nullptr);
    CHECK(session.stream_of_event("nonsense") == nullptr);
  }
}

TEST_CASE("a stream keeps written events only within its replay budget") {
  asio::io_context io;
  ServerStream stream(io.get_executor(), "1", false, 64);
  for (int i = 0; i < 10; ++i) stream.push(R"({"jsonrpc":"2.0","method":"n"})");
  // Nothing was written yet: up to four budgets are held for a client that comes back.
  CHECK(stream.first_held() > 0);
  CHECK(stream.first_unwritten() == stream.first_held());
  stream.mark_written(stream.next_seq());
  CHECK(stream.next_seq() - stream.first_held() <= 2);
}

}  // namespace sluice::mcp

namespace sluice::mcp {

TEST_CASE("the SSE decoder yields id and data as the bytes arrive, whatever their split") {
  SseDecoder decoder(1024);
  SseDecoder::Event event;
  CHECK(decoder.feed("event: message\r\nid: a1\r\nda"));
  CHECK_FALSE(decoder.next(event));
  CHECK(decoder.feed("ta: {\"x\":1}\r\n: a comment\r\ndata: more\r\n\r\nid: a2\n\n"));
  REQUIRE(decoder.next(event));
  CHECK(event.id == "a1");
  CHECK(event.data == "{\"x\":1}\nmore");
  REQUIRE(decoder.next(event));  // a priming event: an id, no data
  CHECK(event.id == "a2");
  CHECK(event.data.empty());
  CHECK_FALSE(decoder.next(event));
}

TEST_CASE("the SSE decoder keeps the last well-formed retry delay") {
  SseDecoder decoder(1024);
  CHECK_FALSE(decoder.retry_ms().has_value());
  CHECK(decoder.feed("retry: 1500\nid: a1\ndata: x\n\n"));
  CHECK(decoder.retry_ms() == 1500U);
  CHECK(decoder.feed("retry: 2s\nretry:\n\n"));  // not digits: ignored, as the standard says
  CHECK(decoder.retry_ms() == 1500U);
}

TEST_CASE("the SSE decoder refuses a line over its limit") {
  SseDecoder decoder(8);
  CHECK_FALSE(decoder.feed("data: 0123456789"));
  CHECK_FALSE(decoder.feed("\n\n"));  // and stays refused
}

TEST_CASE("the SSE decoder refuses an event whose data lines add up to more than its limit") {
  SseDecoder decoder(16);
  SseDecoder::Event event;
  CHECK(decoder.feed("data: 01234\ndata: 56789\n\n"));  // 11 bytes with the joining LF
  REQUIRE(decoder.next(event));
  CHECK(event.data == "01234\n56789");
  CHECK_FALSE(decoder.feed("data: 01234\ndata: 56789\ndata: abcde\n"));
  CHECK_FALSE(decoder.next(event));
}

TEST_CASE("the SSE decoder ends lines at CRLF, LF or a lone CR, also split across reads") {
  SseDecoder decoder(1024);
  SseDecoder::Event event;
  CHECK(decoder.feed("id: a\rdata: one\r"));
  CHECK(decoder.feed("\ndata: two\r\r"));  // the LF belongs to the CR before it: no blank line
  REQUIRE(decoder.next(event));
  CHECK(event.id == "a");
  CHECK(event.data == "one\ntwo");
  CHECK_FALSE(decoder.next(event));
}

}  // namespace sluice::mcp
