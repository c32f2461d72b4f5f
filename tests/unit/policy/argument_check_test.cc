#include "policy/argument_check.h"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sluice::policy {
using json = nlohmann::json;
namespace {

using Catch::Matchers::Contains;

json schema_with(const json& properties) { return {{"type", "object"}, {"properties", properties}}; }

TEST_CASE("a required argument that is missing is reported by name") {
  const json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}}}, {"namespace", {{"type", "string"}}}}},
                       {"required", {"name", "namespace"}}};
  CHECK(check_arguments(schema, {{"name", "web"}}) == "missing required argument \"namespace\"");
  CHECK(check_arguments(schema, {{"name", "web"}, {"namespace", "a"}}) == std::nullopt);
  SECTION("a required name that has no property entry still counts") {
    CHECK(check_arguments({{"required", {"x"}}}, json::object()) == "missing required argument \"x\"");
  }
}

TEST_CASE("an unknown argument is refused only when additionalProperties is false") {
  const json open = schema_with({{"name", {{"type", "string"}}}});
  auto closed = open;
  closed["additionalProperties"] = false;
  const json arguments = {{"name", "web"}, {"force", true}};

  CHECK(check_arguments(open, arguments) == std::nullopt);
  CHECK(check_arguments(closed, arguments) ==
        "unknown argument \"force\" (the tool's schema allows no others)");
  CHECK(check_arguments(closed, {{"name", "web"}}) == std::nullopt);
  SECTION("additionalProperties as a schema is not checked") {
    auto with_schema = open;
    with_schema["additionalProperties"] = {{"type", "string"}};
    CHECK(check_arguments(with_schema, arguments) == std::nullopt);
  }
  SECTION("a closed schema without properties allows no arguments at all") {
    CHECK(check_arguments({{"additionalProperties", false}}, {{"a", 1}}).has_value());
    CHECK(check_arguments({{"additionalProperties", false}}, json::object()) == std::nullopt);
  }
}

TEST_CASE("an argument must have its declared type") {
  struct Case {
    const char* type;
    json good;
    json bad;
  };
  const auto c = GENERATE(values<Case>({
      {"string", "x", 1},
      {"integer", 3, "3"},
      {"integer", -7, 2.5},
      {"integer", 2.0, true},
      {"number", 2.5, "2.5"},
      {"number", 2, nullptr},
      {"boolean", false, 0},
      {"object", json::object(), json::array()},
      {"array", json::array(), json::object()},
      {"null", nullptr, false},
  }));
  CAPTURE(c.type, c.good, c.bad);
  const auto schema = schema_with({{"v", {{"type", c.type}}}});
  CHECK(check_arguments(schema, {{"v", c.good}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"v", c.bad}}) ==
        "argument \"v\" must be of type " + std::string(c.type) + ", got " + c.bad.dump());
}

TEST_CASE("an integer argument must be a whole, finite number") {
  const auto schema = schema_with({{"v", {{"type", "integer"}}}});
  CHECK(check_arguments(schema, {{"v", 1e300}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"v", 0.1}}).has_value());
  CHECK(check_arguments(schema, {{"v", -0.5}}).has_value());
  CHECK(check_arguments(schema, {{"v", 18446744073709551615ULL}}) == std::nullopt);
}

TEST_CASE("a list of types accepts any of them") {
  const auto schema = schema_with({{"v", {{"type", {"string", "null"}}}}});
  CHECK(check_arguments(schema, {{"v", "x"}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"v", nullptr}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"v", 1}}) == "argument \"v\" must be of type [\"string\",\"null\"], got 1");
}

TEST_CASE("a type this check does not know is left to the server") {
  CHECK(check_arguments(schema_with({{"v", {{"type", "uuid"}}}}), {{"v", 1}}) == std::nullopt);
  CHECK(check_arguments(schema_with({{"v", {{"type", 7}}}}), {{"v", 1}}) == std::nullopt);
}

TEST_CASE("an argument with an enum must be one of its values") {
  const auto schema = schema_with({{"mode", {{"type", "string"}, {"enum", {"fast", "safe"}}}}});
  CHECK(check_arguments(schema, {{"mode", "safe"}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"mode", "reckless"}}) ==
        "argument \"mode\" must be one of [\"fast\",\"safe\"], got \"reckless\"");
  SECTION("the type is checked before the enum") {
    CHECK_THAT(*check_arguments(schema, {{"mode", 1}}), Contains("must be of type string"));
  }
  SECTION("an enum without a type") {
    const auto untyped = schema_with({{"n", {{"enum", {1, "one", nullptr}}}}});
    CHECK(check_arguments(untyped, {{"n", nullptr}}) == std::nullopt);
    CHECK(check_arguments(untyped, {{"n", 1}}) == std::nullopt);
    CHECK(check_arguments(untyped, {{"n", "1"}}).has_value());
  }
}

TEST_CASE("a schema without properties accepts any arguments") {
  const json arguments = {{"anything", json::array({1, 2})}, {"else", nullptr}};
  CHECK(check_arguments({{"type", "object"}}, arguments) == std::nullopt);
  CHECK(check_arguments(json::object(), arguments) == std::nullopt);
  CHECK(check_arguments(nullptr, arguments) == std::nullopt);
  CHECK(check_arguments("not a schema", arguments) == std::nullopt);
}

TEST_CASE("only the top level is checked") {
  const auto schema = schema_with({{"spec",
                                    {{"type", "object"},
                                     {"properties", {{"replicas", {{"type", "integer"}}}}},
                                     {"required", {"replicas"}}}}});
  CHECK(check_arguments(schema, {{"spec", {{"replicas", "many"}}}}) == std::nullopt);
  CHECK(check_arguments(schema, {{"spec", json::object()}}) == std::nullopt);
}

}  // namespace
}  // namespace sluice::policy
