#include "mcp/message.h"

#include <string>
#include <variant>

#include <catch2/catch.hpp>

#include "mcp/error.h"

namespace sluice::mcp {
namespace {

const ParseLimits default_limits;

Message parse_message(const std::string& line, const ParseLimits& limits = default_limits) {
  auto parsed = parse_frame(line, limits);
  INFO("line: " << line);
  if (const auto* malformed = std::get_if<Malformed>(&parsed)) {
    FAIL("rejected: " << describe(malformed->error) << ": " << malformed->detail);
  }
  REQUIRE(std::holds_alternative<Message>(parsed));
  return std::move(std::get<Message>(parsed));
}

Malformed parse_malformed(const std::string& line, const ParseLimits& limits = default_limits) {
  auto parsed = parse_frame(line, limits);
  INFO("line: " << line);
  REQUIRE(std::holds_alternative<Malformed>(parsed));
  return std::move(std::get<Malformed>(parsed));
}

// A request whose params hold `depth - 1` nested arrays: `depth` levels in all.
std::string request_nested(int depth) {
  const auto inner = static_cast<std::size_t>(depth - 1);
  return R"({"jsonrpc":"2.0","id":1,"method":"x","params":)" + std::string(inner, '[') +
         std::string(inner, ']') + "}";
}

TEST_CASE("a message is a request, a notification or a response by its members") {
  SECTION("method and id: a request") {
    const auto message =
        parse_message(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}})");
    CHECK(message.kind() == MessageKind::request);
    CHECK(message.is_request());
    CHECK(message.id() == 7);
    CHECK(message.method() == "tools/call");
    CHECK(message.params() == json{{"name", "x"}});
  }
  SECTION("method without id: a notification") {
    const auto message = parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    CHECK(message.kind() == MessageKind::notification);
    CHECK(message.is_notification());
    CHECK(message.id().is_null());
    CHECK(message.method() == "notifications/initialized");
    CHECK(message.params().is_null());
  }
  SECTION("result and id: a response") {
    const auto message = parse_message(R"({"jsonrpc":"2.0","id":"a","result":{}})");
    CHECK(message.kind() == MessageKind::response);
    CHECK(message.id() == "a");
    CHECK(message.method().empty());
    CHECK_FALSE(message.is_error_response());
  }
  SECTION("error and id: an error response") {
    const auto message =
        parse_message(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no such method"}})");
    CHECK(message.kind() == MessageKind::response);
    CHECK(message.is_error_response());
    CHECK(message.id() == 3);
  }
}

TEST_CASE("a message no one touched keeps the exact bytes it arrived as") {
  // Odd spacing, members out of the usual order, a number and an escape that
  // re-serializing would spell differently.
  const std::string line =
      R"({ "params" : {"z":1.50, "a":"\u00e9"},"method":"tools/call" ,  "id":7, "jsonrpc" : "2.0" } )";
  const auto message = parse_message(line);
  CHECK(message.wire() == line);
}

TEST_CASE("writing to a message's body makes it re-serialized") {
  const std::string line = R"({ "jsonrpc":"2.0", "id":7, "method":"tools/call", "params":{"a":1} })";
  auto message = parse_message(line);
  message.mutable_body()["params"]["a"] = 2;

  CHECK(message.wire() != line);
  CHECK(message.wire().find(' ') == std::string::npos);
  CHECK(json::parse(message.wire()) ==
        json::parse(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":2}})"));
}

TEST_CASE("a serialized message never contains a raw newline") {
  const auto message = Message::request(1, "tools/call", json{{"text", "two\nlines"}});
  CHECK(message.wire().find('\n') == std::string::npos);
  CHECK(json::parse(message.wire())["params"]["text"] == "two\nlines");
}

TEST_CASE("a body with invalid UTF-8 that Sluice built still serializes") {
  const auto message = Message::error(1, -32000, "upstream said \xff\xfe");
  std::string wire;
  REQUIRE_NOTHROW(wire = message.wire());
  const auto body = json::parse(wire);
  CHECK(body["error"]["message"].get<std::string>().rfind("upstream said ", 0) == 0);
}

TEST_CASE("a frame that is not JSON is a parse error") {
  const auto malformed = parse_malformed("Received SIGTERM, terminating child process...");
  CHECK(malformed.error == Error::parse_error);
  CHECK(malformed.id.is_null());
}

TEST_CASE("a frame that is not valid UTF-8 is a parse error") {
  std::string line;
  SECTION("a byte that never starts a character") {
    line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xff\"}}";
  }
  SECTION("an overlong encoding of '/'") {
    line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xc0\xaf\"}}";
  }
  SECTION("a sequence cut short") {
    line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xe2\x82\"}}";
  }
  SECTION("an encoded surrogate") {
    line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xed\xa0\x80\"}}";
  }
  const auto malformed = parse_malformed(line);
  CHECK(malformed.error == Error::parse_error);
}

TEST_CASE("JSON nested deeper than the limit is rejected without being parsed") {
  SECTION("ten thousand open brackets") {
    const auto malformed = parse_malformed(std::string(10000, '['));
    CHECK(malformed.error == Error::nesting_too_deep);
  }
  SECTION("ten thousand levels of valid JSON") {
    const auto malformed = parse_malformed(std::string(10000, '[') + std::string(10000, ']'));
    CHECK(malformed.error == Error::nesting_too_deep);
  }
  SECTION("one level over the limit") {
    const auto malformed = parse_malformed(request_nested(129), ParseLimits{.max_depth = 128});
    CHECK(malformed.error == Error::nesting_too_deep);
    CHECK(malformed.detail.find("128") != std::string::npos);
  }
}

TEST_CASE("JSON nested exactly as deep as the limit is accepted") {
  const auto message = parse_message(request_nested(128), ParseLimits{.max_depth = 128});
  CHECK(message.is_request());
}

TEST_CASE("brackets inside strings do not count toward the nesting limit") {
  SECTION("in a plain string") {
    const std::string line =
        R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"s":")" + std::string(1000, '[') + R"("}})";
    CHECK(parse_message(line).is_request());
  }
  SECTION("after an escaped quote and an escaped backslash") {
    const std::string line =
        R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"\"\\)" + std::string(1000, '{') + R"("}})";
    CHECK(parse_message(line).is_request());
  }
}

TEST_CASE("JSON that is not an object is an invalid request") {
  std::string line;
  SECTION("a number") { line = "42"; }
  SECTION("a string") { line = R"("tools/call")"; }
  SECTION("null") { line = "null"; }
  SECTION("a boolean") { line = "true"; }
  const auto malformed = parse_malformed(line);
  CHECK(malformed.error == Error::invalid_request);
  CHECK(malformed.id.is_null());
}

TEST_CASE("a message without \"jsonrpc\": \"2.0\" is an invalid request, addressed to its id when readable") {
  SECTION("member missing, numeric id") {
    const auto malformed = parse_malformed(R"({"id":5,"method":"ping"})");
    CHECK(malformed.error == Error::invalid_request);
    CHECK(malformed.id == 5);
  }
  SECTION("another version, string id") {
    const auto malformed = parse_malformed(R"({"jsonrpc":"1.0","id":"abc","method":"ping"})");
    CHECK(malformed.error == Error::invalid_request);
    CHECK(malformed.id == "abc");
  }
  SECTION("the version as a number") {
    const auto malformed = parse_malformed(R"({"jsonrpc":2.0,"id":5,"method":"ping"})");
    CHECK(malformed.error == Error::invalid_request);
    CHECK(malformed.id == 5);
  }
  SECTION("an id that cannot be an id") {
    const auto malformed = parse_malformed(R"({"id":{"n":5},"method":"ping"})");
    CHECK(malformed.error == Error::invalid_request);
    CHECK(malformed.id.is_null());
  }
}

TEST_CASE("a request's id must be a string or a number, never null") {
  std::string line;
  SECTION("null") { line = R"({"jsonrpc":"2.0","id":null,"method":"ping"})"; }
  SECTION("a boolean") { line = R"({"jsonrpc":"2.0","id":true,"method":"ping"})"; }
  SECTION("an array") { line = R"({"jsonrpc":"2.0","id":[1],"method":"ping"})"; }
  const auto malformed = parse_malformed(line);
  CHECK(malformed.error == Error::invalid_request);
  CHECK(malformed.id.is_null());
}

TEST_CASE("an error response with a null id is accepted") {
  const auto message =
      parse_message(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
  CHECK(message.is_error_response());
  CHECK(message.id().is_null());
}

TEST_CASE("a result response with a null id is an invalid request") {
  const auto malformed = parse_malformed(R"({"jsonrpc":"2.0","id":null,"result":{}})");
  CHECK(malformed.error == Error::invalid_request);
}

TEST_CASE("a message of no JSON-RPC shape is an invalid request") {
  std::string line;
  SECTION("a method that is not a string") { line = R"({"jsonrpc":"2.0","id":1,"method":7})"; }
  SECTION("a request that also has a result") {
    line = R"({"jsonrpc":"2.0","id":1,"method":"ping","result":{}})";
  }
  SECTION("params that are neither object nor array") {
    line = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"})";
  }
  SECTION("neither method nor result nor error") { line = R"({"jsonrpc":"2.0","id":1})"; }
  SECTION("both result and error") {
    line = R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})";
  }
  SECTION("a response without id") { line = R"({"jsonrpc":"2.0","result":{}})"; }
  SECTION("an error without an integer code") {
    line = R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"x"}})";
  }
  SECTION("an error without a message") { line = R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})"; }
  const auto malformed = parse_malformed(line);
  CHECK(malformed.error == Error::invalid_request);
}

TEST_CASE("a batch is parsed element by element") {
  auto parsed = parse_frame(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},)"
                            R"({"jsonrpc":"2.0","method":"notifications/initialized"},)"
                            R"(42,)"
                            R"({"jsonrpc":"2.0","id":3,"method":7}])",
                            default_limits);
  REQUIRE(std::holds_alternative<Batch>(parsed));
  const auto& elements = std::get<Batch>(parsed).elements;
  REQUIRE(elements.size() == 4);

  REQUIRE(std::holds_alternative<Message>(elements[0]));
  CHECK(std::get<Message>(elements[0]).is_request());
  CHECK(std::get<Message>(elements[0]).id() == 1);
  CHECK(json::parse(std::get<Message>(elements[0]).wire()) ==
        json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"));

  REQUIRE(std::holds_alternative<Message>(elements[1]));
  CHECK(std::get<Message>(elements[1]).is_notification());

  REQUIRE(std::holds_alternative<Malformed>(elements[2]));
  CHECK(std::get<Malformed>(elements[2]).error == Error::invalid_request);
  CHECK(std::get<Malformed>(elements[2]).id.is_null());

  REQUIRE(std::holds_alternative<Malformed>(elements[3]));
  CHECK(std::get<Malformed>(elements[3]).error == Error::invalid_request);
  CHECK(std::get<Malformed>(elements[3]).id == 3);
}

TEST_CASE("an empty batch is an invalid request") {
  std::string line;
  SECTION("without space") { line = "[]"; }
  SECTION("with space") { line = " [ ] "; }
  const auto malformed = parse_malformed(line);
  CHECK(malformed.error == Error::invalid_request);
  CHECK(malformed.id.is_null());
}

TEST_CASE("a frame longer than the limit is rejected as too large") {
  const std::string line = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  const ParseLimits limits{.max_message_bytes = line.size()};

  CHECK(parse_message(line, limits).is_request());

  const auto malformed = parse_malformed(line + " ", limits);
  CHECK(malformed.error == Error::message_too_large);
  CHECK(malformed.detail.find(std::to_string(line.size() + 1)) != std::string::npos);
}

TEST_CASE("id_key tells a numeric id from the same digits as a string") {
  CHECK(id_key(7) != id_key("7"));
  CHECK(id_key(7) == id_key(json::parse("7")));
  CHECK(id_key("7") == id_key(json::parse(R"("7")")));
  CHECK(id_key("a\"b") != id_key("a"));
}

TEST_CASE("each error maps to its JSON-RPC code") {
  CHECK(jsonrpc_code(Error::parse_error) == -32700);
  CHECK(jsonrpc_code(Error::invalid_request) == -32600);
  CHECK(jsonrpc_code(Error::message_too_large) == -32600);
  CHECK(jsonrpc_code(Error::nesting_too_deep) == -32600);
  CHECK(jsonrpc_code(Error::duplicate_id) == -32600);
  CHECK(jsonrpc_code(Error::reserved_id) == -32600);
  CHECK(jsonrpc_code(Error::upstream_exited) == -31001);
}

TEST_CASE("the answer to a malformed frame carries its error's code, its id and the detail") {
  const auto response = error_response(Malformed{Error::invalid_request, 5, "no method"});
  CHECK(response.is_error_response());
  CHECK(response.id() == 5);
  const auto body = json::parse(response.wire());
  CHECK(body["jsonrpc"] == "2.0");
  CHECK(body["id"] == 5);
  CHECK(body["error"]["code"] == -32600);
  CHECK(body["error"]["message"] == "Invalid Request: no method");
}

TEST_CASE("the answer to an unreadable frame is addressed to id null") {
  const auto response = error_response(Malformed{Error::parse_error, nullptr, ""});
  const auto body = json::parse(response.wire());
  REQUIRE(body.contains("id"));
  CHECK(body["id"].is_null());
  CHECK(body["error"]["code"] == -32700);
  CHECK(body["error"]["message"] == "Parse error");
}

}  // namespace
}  // namespace sluice::mcp

namespace sluice::mcp {
namespace {

TEST_CASE("is_utf8 accepts well-formed UTF-8 and nothing else") {
  CHECK(is_utf8("plain, and \xc3\xa9 and \xf0\x9f\x98\x80"));
  CHECK(is_utf8(std::string_view("nul\0inside", 10)));
  CHECK_FALSE(is_utf8("a stray \x96 byte"));
  CHECK_FALSE(is_utf8("cut short \xe2\x82"));
  CHECK_FALSE(is_utf8("a surrogate \xed\xa0\x80"));
}

}  // namespace
}  // namespace sluice::mcp
