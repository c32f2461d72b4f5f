#include <catch2/catch.hpp>

#include "webui/login_throttle.h"

using namespace sluice::webui;
using namespace std::chrono_literals;

TEST_CASE("failed logins beyond the free ones block the account for a doubling delay") {
  LoginThrottle throttle({5, 1s, 15min, 100});
  auto t = Clock::time_point{} + 1h;
  for (int i = 0; i < 4; ++i) {
    throttle.failed("alice", t);
    CHECK(throttle.wait("alice", t) == 0s);
  }
  throttle.failed("alice", t);
  CHECK(throttle.wait("alice", t) == 1s);
  t += 1s;
  CHECK(throttle.wait("alice", t) == 0s);
  throttle.failed("alice", t);
  CHECK(throttle.wait("alice", t) == 2s);
  t += 2s;
  throttle.failed("alice", t);
  CHECK(throttle.wait("alice", t) == 4s);
  CHECK(throttle.wait("alice", t + 1500ms) == 3s);  // rounded up, never 0 while blocked
  CHECK(throttle.wait("bob", t) == 0s);  // per account
}

TEST_CASE("the delay stops growing at its maximum, and a success clears the account") {
  LoginThrottle throttle({1, 1s, 60s, 100});
  const auto t = Clock::time_point{} + 1h;
  for (int i = 0; i < 40; ++i) throttle.failed("alice", t);
  CHECK(throttle.wait("alice", t) == 60s);
  throttle.succeeded("alice");
  CHECK(throttle.wait("alice", t) == 0s);
}

TEST_CASE("guessed account names cannot grow the throttle without bound") {
  LoginThrottle throttle({1, 1s, 60s, 3});
  const auto t = Clock::time_point{} + 1h;
  throttle.failed("a", t + 10s);
  throttle.failed("b", t);
  throttle.failed("c", t + 10s);
  throttle.failed("d", t + 10s);  // "b", whose block ends first, is forgotten
  CHECK(throttle.wait("b", t) == 0s);
  CHECK(throttle.wait("a", t + 10s) == 1s);
  CHECK(throttle.wait("d", t + 10s) == 1s);
}
