#include "mcp/oversized_line.h"

#include <string>

#include <catch2/catch.hpp>

namespace sluice::mcp {
namespace {

using nlohmann::json;

// What the framer reports of `line`, with `bulk` bytes of string in the middle, when
// the limit is far below its size.
std::optional<json> id_of(const std::string& start, const std::string& end, std::size_t bulk = 100000) {
  const std::string line = start + std::string(bulk, 'x') + end;
  LineFramer framer(1024);
  framer.feed(line + "\n");
  const auto frame = framer.next();
  REQUIRE(frame);
  REQUIRE(frame->kind == Frame::Kind::oversized);
  CHECK(frame->size == line.size());
  CHECK(frame->head == line.substr(0, LineFramer::kept_end_bytes));
  CHECK(frame->tail == line.substr(line.size() - LineFramer::kept_end_bytes));
  return response_id_of_oversized(*frame);
}

TEST_CASE("the id of an oversized response is read from its first bytes, as most servers order members") {
  CHECK(id_of(R"({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":")", R"("}]}})") == json(7));
  CHECK(id_of(R"({ "jsonrpc" : "2.0", "id" : "a\"b", "error": {"code":-1,"message":")", R"("}})") == json("a\"b"));
}

TEST_CASE("the id of an oversized response is read from its end, as the TypeScript SDK writes it last") {
  CHECK(id_of(R"({"result":{"content":[{"type":"text","text":")", R"("}]},"jsonrpc":"2.0","id":42})") == json(42));
  CHECK(id_of(R"({"result":{"x":")", R"("},"jsonrpc":"2.0","id":"req-\\"})") == json("req-\\"));
  CHECK(id_of(R"({"jsonrpc":"2.0","result":{"x":")", R"("},"id":-3}   )") == json(-3));
}

TEST_CASE("an oversized line that is not a response, or whose ends do not tell, names no request") {
  SECTION("a notification or a request from the server") {
    CHECK_FALSE(id_of(R"({"jsonrpc":"2.0","method":"notifications/message","params":{"data":")", R"("}})"));
    CHECK_FALSE(id_of(R"({"method":"sampling/createMessage","params":{"x":")", R"("},"jsonrpc":"2.0","id":3})"));
    CHECK_FALSE(id_of(R"({"jsonrpc":"2.0","id":3,"method":"roots/list","params":{"x":")", R"("}})"));
  }
  SECTION("the last member is inside the result, not the object's own id") {
    CHECK_FALSE(id_of(R"({"result":{"x":")", R"(","id":5}})"));
    CHECK_FALSE(id_of(R"({"result":{"x":")", R"(\",\"id\":5}"})"));
  }
  SECTION("not JSON, an array, an id that is not a number or string") {
    CHECK_FALSE(id_of("garbage ", " more garbage"));
    CHECK_FALSE(id_of(R"([{"jsonrpc":"2.0","id":1,"result":")", R"("}])"));
    CHECK_FALSE(id_of(R"({"jsonrpc":"2.0","id":{"x":1},"result":")", R"("})"));
    CHECK_FALSE(id_of(R"({"result":")", R"(","id":true})"));
  }
  SECTION("a line within the limit is not oversized") {
    CHECK_FALSE(response_id_of_oversized(Frame{Frame::Kind::line, R"({"jsonrpc":"2.0","id":1,"result":{}})", 36}));
  }
}

TEST_CASE("the framer keeps an oversized line's ends whatever the reads it arrives in") {
  const std::string line = R"({"jsonrpc":"2.0","id":9,"result":")" + std::string(5000, 'y') + R"("})";
  for (const std::size_t piece : {1, 7, 255, 256, 257, 4096}) {
    LineFramer framer(1024);
    for (std::size_t at = 0; at < line.size(); at += piece) framer.feed(std::string_view(line).substr(at, piece));
    framer.feed("\n");
    const auto frame = framer.next();
    REQUIRE(frame);
    CHECK(frame->head == line.substr(0, LineFramer::kept_end_bytes));
    CHECK(frame->tail == line.substr(line.size() - LineFramer::kept_end_bytes));
    CHECK(response_id_of_oversized(*frame) == json(9));
  }
}

}  // namespace
}  // namespace sluice::mcp
