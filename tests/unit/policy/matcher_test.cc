#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config_loader.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {


// The condition a rule's `args: { <key>: <condition> }` sets, as sluice.yaml writes it.
ArgumentCondition condition(const std::string& key, const std::string& yaml_condition) {
  const auto config = load_config_text(
      "policy:\n  rules:\n    - name: r\n      action: deny\n      match:\n        args:\n          " + key +
          ": " + yaml_condition + "\n",
      "sluice.yaml");
  REQUIRE(config.policy.rules.size() == 1);
  REQUIRE(config.policy.rules[0].match.arguments.size() == 1);
  return config.policy.rules[0].match.arguments[0];
}

bool holds(const ArgumentCondition& c, const json& arguments) {
  return c.matcher.matches(c.path.find(arguments));
}

TEST_CASE("a plain string condition is a glob on a string argument") {
  const auto c = condition("namespace", "\"prod-*\"");
  CHECK(c.matcher.kind == ValueMatcher::Kind::glob);
  CHECK(holds(c, {{"namespace", "prod-eu"}}));
  CHECK(holds(c, {{"namespace", "prod-"}}));
  CHECK_FALSE(holds(c, {{"namespace", "staging"}}));
  SECTION("unquoted too") { CHECK(holds(condition("namespace", "prod-?"), {{"namespace", "prod-1"}})); }
  SECTION("a quoted number is a string to glob against") {
    const auto quoted = condition("replicas", "\"3\"");
    CHECK(quoted.matcher.kind == ValueMatcher::Kind::glob);
    CHECK(holds(quoted, {{"replicas", "3"}}));
    CHECK_FALSE(holds(quoted, {{"replicas", 3}}));
  }
}

TEST_CASE("a glob never matches a value that is not a string") {
  const auto c = condition("name", "\"*\"");
  CHECK(holds(c, {{"name", ""}}));
  CHECK_FALSE(holds(c, {{"name", 5}}));
  CHECK_FALSE(holds(c, {{"name", true}}));
  CHECK_FALSE(holds(c, {{"name", nullptr}}));
  CHECK_FALSE(holds(c, {{"name", json::array({"a"})}}));
  CHECK_FALSE(holds(c, {{"name", {{"a", "b"}}}}));
}

TEST_CASE("a number or boolean condition requires an equal value") {
  SECTION("integer") {
    const auto c = condition("replicas", "0");
    CHECK(c.matcher.kind == ValueMatcher::Kind::equals);
    CHECK(holds(c, {{"replicas", 0}}));
    CHECK(holds(c, {{"replicas", 0.0}}));
    CHECK_FALSE(holds(c, {{"replicas", 1}}));
    CHECK_FALSE(holds(c, {{"replicas", "0"}}));
  }
  SECTION("fraction") {
    const auto c = condition("ratio", "0.5");
    CHECK(holds(c, {{"ratio", 0.5}}));
    CHECK_FALSE(holds(c, {{"ratio", "0.5"}}));
  }
  SECTION("boolean") {
    const auto c = condition("force", "true");
    CHECK(holds(c, {{"force", true}}));
    CHECK_FALSE(holds(c, {{"force", false}}));
    CHECK_FALSE(holds(c, {{"force", "true"}}));
  }
}

TEST_CASE("a list condition requires one of its values") {
  const auto c = condition("replicas", "[0, 1, \"none\"]");
  CHECK(c.matcher.kind == ValueMatcher::Kind::one_of);
  CHECK(holds(c, {{"replicas", 0}}));
  CHECK(holds(c, {{"replicas", 1}}));
  CHECK(holds(c, {{"replicas", "none"}}));
  CHECK_FALSE(holds(c, {{"replicas", 2}}));
  CHECK_FALSE(holds(c, {{"replicas", "0"}}));
  SECTION("list entries are values, not globs") {
    CHECK_FALSE(holds(condition("n", "[\"a*\"]"), {{"n", "abc"}}));
  }
}

TEST_CASE("the explicit condition forms") {
  SECTION("equals, which takes a string literally") {
    const auto c = condition("name", "{ equals: \"web-*\" }");
    CHECK(c.matcher.kind == ValueMatcher::Kind::equals);
    CHECK(holds(c, {{"name", "web-*"}}));
    CHECK_FALSE(holds(c, {{"name", "web-1"}}));
  }
  SECTION("glob") {
    const auto c = condition("name", "{ glob: \"web-*\" }");
    CHECK(holds(c, {{"name", "web-1"}}));
    CHECK_FALSE(holds(c, {{"name", "api-1"}}));
  }
  SECTION("regex, which searches anywhere unless anchored") {
    const auto unanchored = condition("name", R"({ regex: "prod-\\d+" })");
    CHECK(unanchored.matcher.kind == ValueMatcher::Kind::regex);
    CHECK(holds(unanchored, {{"name", "eu-prod-12-x"}}));
    CHECK_FALSE(holds(unanchored, {{"name", "prod-x"}}));
    const auto anchored = condition("name", R"({ regex: "^prod-\\d+$" })");
    CHECK(holds(anchored, {{"name", "prod-12"}}));
    CHECK_FALSE(holds(anchored, {{"name", "eu-prod-12"}}));
    CHECK_FALSE(holds(anchored, {{"name", 12}}));
  }
  SECTION("in") {
    const auto c = condition("replicas", "{ in: [0, 100] }");
    CHECK(c.matcher.kind == ValueMatcher::Kind::one_of);
    CHECK(holds(c, {{"replicas", 100}}));
    CHECK_FALSE(holds(c, {{"replicas", 50}}));
  }
  SECTION("exists: true") {
    const auto c = condition("force", "{ exists: true }");
    CHECK(holds(c, {{"force", false}}));
    CHECK(holds(c, {{"force", nullptr}}));
    CHECK_FALSE(holds(c, json::object()));
  }
  SECTION("exists: false") {
    const auto c = condition("force", "{ exists: false }");
    CHECK(holds(c, json::object()));
    CHECK_FALSE(holds(c, {{"force", false}}));
  }
}

TEST_CASE("a JSON pointer reaches into nested objects and arrays") {
  SECTION("nested objects") {
    const auto c = condition("/metadata/namespace", "prod");
    CHECK(c.path.is_pointer());
    CHECK(holds(c, {{"metadata", {{"namespace", "prod"}}}}));
    CHECK_FALSE(holds(c, {{"metadata", {{"namespace", "dev"}}}}));
    CHECK_FALSE(holds(c, {{"namespace", "prod"}}));
    CHECK_FALSE(holds(c, {{"metadata", "namespace"}}));
  }
  SECTION("array elements by index") {
    const auto c = condition("/items/1/name", "b*");
    const json arguments = {{"items", json::array({{{"name", "a"}}, {{"name", "bee"}}})}};
    CHECK(holds(c, arguments));
    CHECK_FALSE(holds(condition("/items/0/name", "b*"), arguments));
    CHECK_FALSE(holds(condition("/items/2/name", "{ exists: true }"), arguments));
  }
  SECTION("indices that are not plain numbers find nothing") {
    const json arguments = {{"items", json::array({"x", "y"})}};
    CHECK(holds(condition("/items/0", "x"), arguments));
    CHECK(holds(condition("/items/0", "{ exists: true }"), arguments));
    for (const auto* bad :
         {"/items/-", "/items/01", "/items/+1", "/items/", "/items/1x", "/items/99999999999"}) {
      CAPTURE(bad);
      CHECK(holds(condition(bad, "{ exists: false }"), arguments));
    }
  }
  SECTION("escaped characters in keys") {
    const json arguments = {{"a/b", {{"c~d", "v"}}}};
    CHECK(holds(condition("/a~1b/c~0d", "v"), arguments));
    CHECK_FALSE(holds(condition("/a~1b/c~1d", "{ exists: true }"), arguments));
  }
  SECTION("a plain name is one top-level key, even with a slash inside") {
    const auto c = condition("a/b", "v");
    CHECK_FALSE(c.path.is_pointer());
    CHECK(holds(c, {{"a/b", "v"}}));
    CHECK_FALSE(holds(c, {{"a", {{"b", "v"}}}}));
  }
  SECTION("the empty key") { CHECK(holds(condition("/", "v"), {{"", "v"}})); }
}

TEST_CASE("an absent argument matches only a condition that wants it absent") {
  const json none = json::object();
  CHECK_FALSE(holds(condition("namespace", "\"*\""), none));
  CHECK_FALSE(holds(condition("namespace", "0"), none));
  CHECK_FALSE(holds(condition("namespace", "[0, \"\"]"), none));
  CHECK_FALSE(holds(condition("namespace", "{ regex: \".*\" }"), none));
  CHECK(holds(condition("namespace", "{ exists: false }"), none));
  SECTION("arguments that are not an object have no arguments") {
    CHECK_FALSE(holds(condition("namespace", "\"*\""), json::array({"namespace"})));
    CHECK(holds(condition("namespace", "{ exists: false }"), nullptr));
  }
}

TEST_CASE("a condition describes itself for explanations") {
  CHECK(condition("n", "\"prod-*\"").matcher.describe() == "matches \"prod-*\"");
  CHECK(condition("n", "3").matcher.describe() == "equals 3");
  CHECK(condition("n", "{ equals: \"3\" }").matcher.describe() == "equals \"3\"");
  CHECK(condition("n", "[1, \"a\"]").matcher.describe() == "is one of [1,\"a\"]");
  CHECK(condition("n", "{ regex: \"^a$\" }").matcher.describe() == "matches regex /^a$/");
  CHECK(condition("n", "{ exists: true }").matcher.describe() == "is present");
  CHECK(condition("n", "{ exists: false }").matcher.describe() == "is absent");
}

}  // namespace
}  // namespace sluice::policy
