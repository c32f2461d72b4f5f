#include <catch2/catch.hpp>

#include "webui/request_guard.h"

using namespace sluice::webui;

TEST_CASE("a loopback server answers to its address and the loopback names, with its port") {
  const auto policy = origin_policy_for("127.0.0.1", 8766);
  CHECK(check_host(policy, "127.0.0.1:8766") == GuardVerdict::ok);
  CHECK(check_host(policy, "localhost:8766") == GuardVerdict::ok);
  CHECK(check_host(policy, "LOCALHOST:8766") == GuardVerdict::ok);
  CHECK(check_host(policy, "[::1]:8766") == GuardVerdict::ok);
  CHECK(check_host(policy, "localhost:8767") == GuardVerdict::bad_host);
  CHECK(check_host(policy, "localhost") == GuardVerdict::bad_host);
  CHECK(check_host(policy, "attacker.example:8766") == GuardVerdict::bad_host);  // DNS rebinding
  CHECK(check_host(policy, "") == GuardVerdict::bad_host);
}

TEST_CASE("an IPv6 address is written in brackets, and a wildcard bind accepts any host") {
  CHECK(origin_policy_for("::1", 80).hosts.front() == "[::1]:80");
  CHECK(origin_policy_for("10.0.0.5", 80).hosts == std::vector<std::string>{"10.0.0.5:80"});
  const auto wildcard = origin_policy_for("0.0.0.0", 80);
  CHECK(wildcard.hosts.empty());
  CHECK(check_host(wildcard, "sluice.internal:80") == GuardVerdict::ok);
}

TEST_CASE("a state-changing request needs its own origin, port included, and the CSRF token") {
  const auto policy = origin_policy_for("127.0.0.1", 8766);
  const auto check = [&](std::string_view origin, std::string_view site, std::string_view token) {
    return check_unsafe_request(policy, "127.0.0.1:8766", origin, site, token, "secret-token");
  };
  CHECK(check("http://127.0.0.1:8766", "same-origin", "secret-token") == GuardVerdict::ok);
  CHECK(check("http://127.0.0.1:8766", "", "secret-token") == GuardVerdict::ok);
  SECTION("another port on the same host is another origin") {
    CHECK(check("http://127.0.0.1:3000", "same-site", "secret-token") == GuardVerdict::bad_origin);
  }
  SECTION("another spelling of the host is not the page's origin") {
    CHECK(check("http://localhost:8766", "same-site", "secret-token") == GuardVerdict::bad_origin);
  }
  SECTION("https is another origin") { CHECK(check("https://127.0.0.1:8766", "", "secret-token") == GuardVerdict::bad_origin); }
  SECTION("no Origin at all is refused") { CHECK(check("", "", "secret-token") == GuardVerdict::bad_origin); }
  SECTION("the opaque origin of a sandboxed page is refused") { CHECK(check("null", "", "secret-token") == GuardVerdict::bad_origin); }
  SECTION("a browser's cross-site marker wins over everything") {
    CHECK(check("http://127.0.0.1:8766", "cross-site", "secret-token") == GuardVerdict::cross_site);
  }
  SECTION("a missing or wrong token") {
    CHECK(check("http://127.0.0.1:8766", "same-origin", "") == GuardVerdict::bad_token);
    CHECK(check("http://127.0.0.1:8766", "same-origin", "secret-tokeN") == GuardVerdict::bad_token);
    CHECK(check("http://127.0.0.1:8766", "same-origin", "secret-token2") == GuardVerdict::bad_token);
  }
  SECTION("a wrong Host fails before anything else") {
    CHECK(check_unsafe_request(policy, "evil:8766", "http://evil:8766", "", "secret-token", "secret-token") ==
          GuardVerdict::bad_host);
  }
  SECTION("the login form has no token yet, but its origin is still checked") {
    CHECK(check_unsafe_request(policy, "127.0.0.1:8766", "http://127.0.0.1:8766", "", "", "") == GuardVerdict::ok);
    CHECK(check_unsafe_request(policy, "127.0.0.1:8766", "http://127.0.0.1:9", "", "", "") == GuardVerdict::bad_origin);
  }
}

TEST_CASE("cookies are found by exact name and a duplicated name is ambiguous and ignored") {
  CHECK(find_cookie("sluice_session=abc", "sluice_session") == "abc");
  CHECK(find_cookie("a=1; sluice_session=abc; b=2", "sluice_session") == "abc");
  CHECK(find_cookie("a=1;sluice_session=\"abc\"", "sluice_session") == "abc");
  CHECK_FALSE(find_cookie("x_sluice_session=abc", "sluice_session").has_value());
  CHECK_FALSE(find_cookie("sluice_session_x=abc", "sluice_session").has_value());
  CHECK_FALSE(find_cookie("sluice_session", "sluice_session").has_value());
  CHECK_FALSE(find_cookie("", "sluice_session").has_value());
  CHECK_FALSE(find_cookie("sluice_session=planted; sluice_session=real", "sluice_session").has_value());
  CHECK(find_cookie("sluice_session=", "sluice_session") == "");
}

TEST_CASE("constant-time comparison is still a comparison") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}
