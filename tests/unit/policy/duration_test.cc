#include "policy/duration.h"

#include <chrono>
#include <optional>

#include <catch2/catch.hpp>

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds week = std::chrono::hours(24 * 7);

std::optional<std::chrono::milliseconds> parse(std::string_view text,
                                               std::chrono::milliseconds limit = week) {
  return parse_duration(text, limit);
}

TEST_CASE("a duration is a whole number followed by ms, s, m or h") {
  CHECK(parse("500ms") == 500ms);
  CHECK(parse("30s") == 30s);
  CHECK(parse("15m") == 15min);
  CHECK(parse("2h") == 2h);
  CHECK(parse("0s") == 0ms);
  CHECK(parse("007s") == 7s);
}

TEST_CASE("a duration up to the limit is accepted, one beyond it is not") {
  SECTION("exactly the limit") {
    CHECK(parse("168h") == week);
    CHECK(parse("10080m") == week);
    CHECK(parse("604800s") == week);
    CHECK(parse("604800000ms") == week);
  }
  SECTION("one unit more") {
    CHECK_FALSE(parse("169h"));
    CHECK_FALSE(parse("10081m"));
    CHECK_FALSE(parse("604801s"));
    CHECK_FALSE(parse("604800001ms"));
  }
  SECTION("a limit that is not a whole number of the unit") {
    CHECK(parse("1s", 1500ms) == 1s);
    CHECK_FALSE(parse("2s", 1500ms));
    CHECK(parse("1500ms", 1500ms) == 1500ms);
  }
}

TEST_CASE("text that is not such a duration is refused") {
  SECTION("no unit") { CHECK_FALSE(parse("5")); }
  SECTION("no number") {
    CHECK_FALSE(parse("s"));
    CHECK_FALSE(parse("ms"));
    CHECK_FALSE(parse(""));
  }
  SECTION("a sign") {
    CHECK_FALSE(parse("-1s"));
    CHECK_FALSE(parse("+1s"));
  }
  SECTION("a fraction") { CHECK_FALSE(parse("1.5s")); }
  SECTION("an unknown unit or trailing text") {
    CHECK_FALSE(parse("5d"));
    CHECK_FALSE(parse("5sec"));
    CHECK_FALSE(parse("5hs"));
    CHECK_FALSE(parse("5 s"));
    CHECK_FALSE(parse(" 5s"));
    CHECK_FALSE(parse("1m30s"));
  }
  SECTION("a number too large for any integer type") {
    CHECK_FALSE(parse("99999999999999999999999s"));
    CHECK_FALSE(parse("9223372036854775807h", std::chrono::milliseconds::max()));
  }
}

TEST_CASE("a fine duration also takes us, for settings finer than a millisecond") {
  constexpr std::chrono::microseconds limit = 10ms;
  CHECK(parse_fine_duration("50us", limit) == 50us);
  CHECK(parse_fine_duration("2ms", limit) == 2ms);
  CHECK(parse_fine_duration("0us", limit) == 0us);
  CHECK(parse_fine_duration("10000us", limit) == limit);
  CHECK_FALSE(parse_fine_duration("10001us", limit));
  CHECK_FALSE(parse_fine_duration("11ms", limit));
  CHECK_FALSE(parse_fine_duration("1s", limit));
  CHECK_FALSE(parse_fine_duration("50", limit));
  CHECK_FALSE(parse_fine_duration("us", limit));
  CHECK_FALSE(parse_fine_duration("-5us", limit));
  CHECK_FALSE(parse_fine_duration("5µs", limit));
}

TEST_CASE("a duration in milliseconds does not take us") {
  CHECK_FALSE(parse("1000us"));
  CHECK_FALSE(parse("0us"));
}

TEST_CASE("a duration is written back in the largest unit that holds it whole, and reads back the same") {
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(0ms) == "0ms");
  for (const auto value : {1ms, 999ms, 1000ms, 61000ms, 3600000ms, 86400000ms}) {
    CHECK(parse(format_duration(value)) == value);
  }
}

}  // namespace
}  // namespace sluice::policy
