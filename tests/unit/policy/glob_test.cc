#include "policy/glob.h"

#include <string>

#include <catch2/catch.hpp>

namespace sluice::policy {
namespace {

bool glob(const std::string& pattern, const std::string& text) { return Glob(pattern).matches(text); }

TEST_CASE("a pattern without wildcards matches only the same text") {
  CHECK(glob("pods_list", "pods_list"));
  CHECK_FALSE(glob("pods_list", "pods_lis"));
  CHECK_FALSE(glob("pods_list", "pods_list2"));
  CHECK_FALSE(glob("pods_list", "Pods_list"));
  CHECK_FALSE(glob("pods_list", ""));
}

TEST_CASE("a star matches any run of characters, including none") {
  SECTION("at the start") {
    CHECK(glob("*_delete", "pods_delete"));
    CHECK(glob("*_delete", "_delete"));
    CHECK_FALSE(glob("*_delete", "pods_delete_all"));
  }
  SECTION("in the middle") {
    CHECK(glob("pods_*_all", "pods_delete_all"));
    CHECK(glob("pods_*_all", "pods__all"));
    CHECK_FALSE(glob("pods_*_all", "pods_all"));
  }
  SECTION("at the end") {
    CHECK(glob("staging-*", "staging-"));
    CHECK(glob("staging-*", "staging-eu-1"));
    CHECK_FALSE(glob("staging-*", "stagin"));
  }
  SECTION("alone") {
    CHECK(glob("*", ""));
    CHECK(glob("*", "anything at all"));
  }
  SECTION("several stars") {
    CHECK(glob("*a*b*", "xxaxxbxx"));
    CHECK(glob("*a*b*", "ab"));
    CHECK_FALSE(glob("*a*b*", "ba"));
    CHECK(glob("a**b", "ab"));
    CHECK(glob("*-*-*", "eu-west-1"));
    CHECK_FALSE(glob("*-*-*", "eu-west"));
  }
  SECTION("a star must backtrack past a false start") {
    CHECK(glob("*ab", "aab"));
    CHECK(glob("*aab", "aaab"));
    CHECK(glob("a*ba", "abbaba"));
  }
}

TEST_CASE("a star in the text is an ordinary character, and a star in the pattern still a wildcard") {
  CHECK(glob("*.txt", "*a.txt"));
  CHECK(glob("*b", "*xb"));
  CHECK(glob("a*", "a*"));
  CHECK(glob("*", "*"));
  CHECK_FALSE(glob("a", "*"));
  CHECK_FALSE(glob("?", "**"));
}

TEST_CASE("a question mark matches exactly one character") {
  CHECK(glob("pod?", "pods"));
  CHECK_FALSE(glob("pod?", "pod"));
  CHECK_FALSE(glob("pod?", "podss"));
  CHECK(glob("??", "ab"));
  CHECK(glob("?*", "a"));
  CHECK_FALSE(glob("?*", ""));
  CHECK(glob("*?", "a"));
  CHECK_FALSE(glob("*?", ""));
}

TEST_CASE("an empty pattern matches only the empty text") {
  CHECK(glob("", ""));
  CHECK_FALSE(glob("", "a"));
  CHECK_FALSE(glob("a", ""));
}

TEST_CASE("a pattern with many stars is matched without exponential backtracking") {
  // A recursive backtracking matcher needs about n^5 steps for the first pattern and
  // would not finish; this one needs about n times the pattern's length. Nothing here
  // is timed: ctest's timeout is what catches a regression.
  const std::string text(20000, 'a');
  CHECK_FALSE(glob("a*a*a*a*a*b", text));
  CHECK(glob("a*a*a*a*a*a", text));
  CHECK_FALSE(glob("*a*a*a*a*a*a*a*a*a*a*b", text));
  CHECK(glob("*a?a*", text));
}

}  // namespace
}  // namespace sluice::policy
