#include <catch2/catch.hpp>

#include "webui/session_store.h"

using namespace sluice::webui;
using namespace std::chrono_literals;

TEST_CASE("a session is found by its id until it idles out") {
  SessionStore store({30min, 12h, 10});
  const auto start = Clock::time_point{} + 1h;
  const auto id = store.create("alice", {"approver"}, start).id;
  CHECK(id.size() == 32);
  const auto* found = store.find(id, start + 29min);
  REQUIRE(found != nullptr);
  CHECK(found->user == "alice");
  CHECK(found->csrf_token.size() == 32);
  CHECK(found->csrf_token != id);
  CHECK(store.find(id, start + 58min) != nullptr);  // use restarts the idle clock
  CHECK(store.find(id, start + 58min + 31min) == nullptr);
  CHECK(store.find(id, start + 58min) == nullptr);  // forgotten, not revived
}

TEST_CASE("a session ends at its absolute timeout however busy it is") {
  SessionStore store({30min, 2h, 10});
  const auto start = Clock::time_point{} + 1h;
  const auto id = store.create("alice", {}, start).id;
  for (auto t = 10min; t < 2h; t += 10min) REQUIRE(store.find(id, start + t) != nullptr);
  CHECK(store.find(id, start + 2h + 1min) == nullptr);
}

TEST_CASE("each login gets a new id, and the store is bounded") {
  SessionStore store({30min, 12h, 3});
  const auto t = Clock::time_point{} + 1h;
  const auto first = store.create("alice", {}, t).id;
  const auto second = store.create("alice", {}, t + 1s).id;
  CHECK(first != second);
  store.create("bob", {}, t + 2s);
  store.create("carol", {}, t + 3s);
  CHECK(store.size() == 3);
  CHECK(store.find(first, t + 4s) == nullptr);  // the least recently used made room
  CHECK(store.find(second, t + 4s) != nullptr);
  store.remove(second);
  CHECK(store.find(second, t + 5s) == nullptr);
  CHECK(store.find("not-an-id", t) == nullptr);
}
