#include "mcp/json_check.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sluice::mcp {

TEST_CASE("plain JSON passes the quick check") {
  for (const std::string text : {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}})",
                                 R"( [1, -2.5, 0, true, false, null, "a\"\\\/\b\f\n\r\t\u00e9"] )", R"("")", "0", "{}",
                                 "[]", R"({"a":[{"b":[]}]})"}) {
    CAPTURE(text);
    CHECK(plainly_valid_json(text, 128));
  }
}

TEST_CASE("what the parser refuses, or the check cannot vouch for, fails the quick check") {
  const std::vector<std::string> refused = {
      "", " ", "{", "}", "[1,]", R"({"a":1,})", R"({"a" 1})", R"({a:1})", "[1 2]", "01", "-", "1.", ".5", "+1", "1e5",
      "1E-2", "tru", "nul", "True", R"("open)", "\"a\x01\"", "\"\xc3\xa9\"", "\"\xff\"", R"("\x")", R"("\u12")",
      R"("\u00zz")", R"("\ud800")", R"("\udc00")", R"("\u0000")", "{} {}", "[1] x", "/* */ 1", "\x00",
      std::string(301, '1'), "[" + std::string(129, '[') + std::string(129, ']') + "]"};
  for (const auto& text : refused) {
    CAPTURE(text);
    CHECK_FALSE(plainly_valid_json(text, 128));
  }
}

TEST_CASE("the quick check never passes what nlohmann's parser refuses") {
  std::vector<std::string> texts = {"[1,2]", "[1,,2]", R"({"k":"v"})", R"({"k":"v"}})", R"(["\/"])", R"(["\a"])",
                                    "[-0]", "[-01]", "[0.0]", "[0.]", R"({"":""})", "[[[]]]", "[[[]]", "nulll"};
  // Every prefix of a message, as a truncated body would be.
  const std::string message = R"({"jsonrpc":"2.0","id":"a\"b","method":"m","params":{"x":[1.5,true,null,"\u00e9"]}})";
  for (std::size_t n = 0; n <= message.size(); ++n) texts.push_back(message.substr(0, n));
  for (const auto& text : texts) {
    CAPTURE(text);
    if (plainly_valid_json(text, 128)) CHECK_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
  }
  CHECK(plainly_valid_json(message, 128));
}

TEST_CASE("the quick check keeps parse_frame's depth limit") {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(plainly_valid_json(nested(128), 128));
  CHECK_FALSE(plainly_valid_json(nested(129), 128));
}

}  // namespace sluice::mcp
