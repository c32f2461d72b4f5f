#include "mcp/json_members.h"

#include <catch2/catch.hpp>

namespace sluice::mcp {

TEST_CASE("an object's members are found as their keys and the text of their values") {
  const auto members = object_members(R"( {"id" : 7, "s":"a\"}\\", "o":{"k":[1,{"x":"]"}]},"n":null} )");
  REQUIRE(members);
  REQUIRE(members->size() == 4);
  CHECK((*members)[0].key == "id");
  CHECK((*members)[0].value == "7");
  CHECK((*members)[1].value == R"("a\"}\\")");
  CHECK((*members)[2].value == R"({"k":[1,{"x":"]"}]})");
  CHECK((*members)[3].value == "null");
  CHECK(member_value(*members, "o") == R"({"k":[1,{"x":"]"}]})");
  CHECK_FALSE(member_value(*members, "missing"));
  CHECK(object_members("{}")->empty());
}

TEST_CASE("a repeated key's value is its last, as nlohmann's parse keeps it") {
  const auto members = object_members(R"({"id":1,"id":2})");
  REQUIRE(members);
  CHECK(member_value(*members, "id") == "2");
}

TEST_CASE("text that is not one whole object, or has a key with an escape, has no members") {
  CHECK_FALSE(object_members(R"([1,2])"));
  CHECK_FALSE(object_members(R"("text")"));
  CHECK_FALSE(object_members(R"({"id":1)"));
  CHECK_FALSE(object_members(R"({"id":"open})"));
  CHECK_FALSE(object_members(R"({"id":1} {})"));
  CHECK_FALSE(object_members(R"({"id":})"));
  CHECK_FALSE(object_members(R"({"i\u0064":1})"));
  CHECK_FALSE(object_members(R"({"id" 1})"));
  CHECK_FALSE(object_members(""));
}

}  // namespace sluice::mcp
