#include "mcp/message.h"

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include "mcp/digest.h"
#include "mcp/error.h"
#include "mcp/json_parser.h"

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

// The message path's parser must agree with nlohmann's on every text: the same value
// where both accept, a rejection where nlohmann rejects. Hand-picked texts, then
// random mutations of them (a fixed seed: the run is the same every time).
void check_same_as_nlohmann(const std::string& text) {
  INFO("text: " << json_quoted(text));
  const auto expected = json::parse(text, nullptr, /*allow_exceptions=*/false);
  json actual;
  const auto fault = parse_json(text, 100000, actual);
  REQUIRE((fault == JsonFault::none) == !expected.is_discarded());
  if (fault == JsonFault::none) {
    CHECK(actual == expected);
    CHECK(actual.dump() == expected.dump());
    CHECK(actual.type() == expected.type());
    CHECK(canonical_json(actual) == expected.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

TEST_CASE("parse_json builds what nlohmann builds and rejects what it rejects") {
  const std::vector<std::string> texts = {
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"key":"alpha"}}})",
      R"({"jsonrpc":"2.0","id":"x","result":{"content":[{"type":"text","text":"v: 42"}],"isError":false}})",
      R"([1,-1,0,-0,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809])",
      R"([1.5,-0.0,1e3,1E+3,1e-3,2.5e400,-1e400,1e-400,0.1,123456789012345678901234567890])",
      R"(["\"\\\/\b\f\n\r\t","\u0000","\u00e9\u20AC","\ud83d\ude00","\uD834\uDD1E"])",
      "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\x7f\"]",
      R"({"a":1,"a":2,"b":{"a":[]},"":null})",
      " \t\r\n[ true , false , null , { } , [ ] ] \n",
      "\xef\xbb\xbf{\"bom\":true}",
      R"(["\ud800"])", R"(["\udc00"])", R"(["\ud800\u0041"])", R"(["\ud800\"])", R"(["\u12"])", R"(["\x"])",
      "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xe2\x82\"]", "[\"\x01\"]",
      R"([01])", R"([1.])", R"([.5])", R"([-])", R"([1e])", R"([+1])", R"([tru])", R"([nul])", R"({"a" 1})",
      R"({"a":1,})", R"([1,])", R"({1:2})", R"([1]x)", R"()", R"(  )", "\xef\xbb", R"("a)", R"({"a":"b"}})",
      R"([[[[[]]]]])", R"("just a string")", R"(42)", R"(-7.25e-2)",
  };
  for (const auto& text : texts) check_same_as_nlohmann(text);

  // Each byte that ends a plain run, at each place in and around a word of eight.
  const std::vector<std::string> specials = {
      "\"", "\\", "\x1f", "\x7f", "\x80", "\xc3\xa9", "\\n", std::string(1, '\0')};
  for (const auto& special : specials) {
    for (std::size_t at = 0; at <= 20; ++at) {
      auto text = std::string(24, 'a');
      text.insert(at, special);
      check_same_as_nlohmann("[\"" + text + "\"]");
      CHECK(is_utf8(text) == (special != "\x80"));
      CHECK(canonical_json(json(text)) == json(text).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }

  std::mt19937 random(20261202);
  const std::string alphabet = "{}[]\",:.-+eE0129 \t\\\"u/ntfrlsaDd\x7f\x80\xbf\xc2\xe0\xed\xf0\xf4\xff";
  for (const auto& seed : texts) {
    for (int round = 0; round < 300; ++round) {
      auto text = seed;
      const int edits = 1 + static_cast<int>(random() % 3);
      for (int edit = 0; edit < edits && !text.empty(); ++edit) {
        const auto at = random() % text.size();
        const char c = alphabet[random() % alphabet.size()];
        switch (random() % 3) {
          case 0: text[at] = c; break;
          case 1: text.insert(at, 1, c); break;
          default: text.erase(at, 1); break;
        }
      }
      check_same_as_nlohmann(text);
    }
  }
}

TEST_CASE("canonical_json writes what nlohmann's dump writes, also of text that is not UTF-8") {
  const std::vector<json> values = {
      json("\xff"), json("a\xc3"), json("\xed\xa0\x80 x"), json({{"k\xfe", {1.5, "\x7f\x1f"}}}),
      json::binary({1, 2}), json(-0.0), json(1e300), json(std::uint64_t{18446744073709551615U})};
  for (const auto& value : values) {
    CHECK(canonical_json(value) == value.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

TEST_CASE("parse_json stops at the depth limit") {
  json out;
  CHECK(parse_json("[[[]]]", 3, out) == JsonFault::none);
  CHECK(parse_json("[[[]]]", 2, out) == JsonFault::too_deep);
  CHECK(parse_json(R"({"a":{"b":[]}})", 2, out) == JsonFault::too_deep);
  CHECK(parse_json(std::string(100000, '['), 128, out) == JsonFault::too_deep);
}

TEST_CASE("a frame invalid before its depth limit is still too deep if its brackets are") {
  const auto malformed = parse_malformed("[x" + std::string(200, '['));
  CHECK(malformed.error == Error::nesting_too_deep);
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
