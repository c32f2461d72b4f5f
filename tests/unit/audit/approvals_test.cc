#include "audit/approvals.h"

#include <string>

#include <catch2/catch.hpp>

#include "audit/sqlite_store.h"
#include "log_fixture.h"

namespace sluice::audit {
namespace {

constexpr const char* created = "2026-11-25T10:00:00.000000Z";
constexpr const char* before_expiry = "2026-11-25T10:05:00.000000Z";
constexpr const char* expiry = "2026-11-25T10:10:00.000000Z";
constexpr const char* after_expiry = "2026-11-25T10:10:00.000001Z";

ApprovalRecord request(int quorum = 1, std::vector<std::string> roles = {}) {
  ApprovalRecord record;
  record.id = "0123456789abcdef0123456789abcdef";
  record.principal = "agent";
  record.tool = "deployments_scale";
  record.arguments_hash = std::string(64, 'a');
  record.created = created;
  record.expires = expiry;
  record.quorum = quorum;
  record.approver_roles = std::move(roles);
  return record;
}

const Approver alice{"alice", {"approver"}};
const Approver bob{"bob", {"approver", "sre-leads"}};

TEST_CASE("pending -> approved: one approval with quorum 1 decides, with the vote's comment") {
  auto r = request();
  REQUIRE(apply_vote(r, alice, true, "ok", before_expiry) == VoteError::none);
  REQUIRE(r.state == ApprovalState::approved);
  REQUIRE(r.decided == before_expiry);
  REQUIRE(r.comment == "ok");
  REQUIRE(r.votes.size() == 1);
}

TEST_CASE("pending -> denied: one denial decides, whatever the quorum") {
  auto r = request(3);
  REQUIRE(apply_vote(r, alice, false, "no", before_expiry) == VoteError::none);
  REQUIRE(r.state == ApprovalState::denied);
  REQUIRE(r.comment == "no");
}

TEST_CASE("a decided request takes no more votes: double approval, approval after denial") {
  auto r = request();
  REQUIRE(apply_vote(r, alice, true, "", before_expiry) == VoteError::none);
  REQUIRE(apply_vote(r, bob, true, "", before_expiry) == VoteError::not_pending);
  REQUIRE(apply_vote(r, bob, false, "", before_expiry) == VoteError::not_pending);
  REQUIRE(r.state == ApprovalState::approved);
  REQUIRE(r.votes.size() == 1);
}

TEST_CASE("a vote at or after the expiry expires the request instead") {
  auto r = request();
  SECTION("at the expiry") { REQUIRE(apply_vote(r, alice, true, "", expiry) == VoteError::expired); }
  SECTION("after it") { REQUIRE(apply_vote(r, alice, true, "", after_expiry) == VoteError::expired); }
  REQUIRE(r.state == ApprovalState::expired);
  REQUIRE(r.votes.empty());
  REQUIRE(apply_vote(r, bob, true, "", after_expiry) == VoteError::not_pending);
}

TEST_CASE("expire() ends only pending requests past their expiry") {
  auto r = request();
  REQUIRE_FALSE(expire(r, before_expiry));
  REQUIRE(r.state == ApprovalState::pending);
  REQUIRE(expire(r, expiry));
  REQUIRE(r.state == ApprovalState::expired);
  REQUIRE_FALSE(expire(r, after_expiry));
  auto approved = request();
  apply_vote(approved, alice, true, "", before_expiry);
  REQUIRE_FALSE(expire(approved, after_expiry));
  REQUIRE(approved.state == ApprovalState::approved);
}

TEST_CASE("pending -> cancelled, and a cancelled request cannot be approved") {
  auto r = request();
  REQUIRE(cancel(r, "the client went away", before_expiry));
  REQUIRE(r.state == ApprovalState::cancelled);
  REQUIRE(r.comment == "the client went away");
  REQUIRE_FALSE(cancel(r, "again", before_expiry));
  REQUIRE(apply_vote(r, alice, true, "", before_expiry) == VoteError::not_pending);
}

TEST_CASE("four eyes: the principal that made the call can neither approve nor deny it") {
  auto r = request();
  const Approver self{"agent", {"approver"}};
  REQUIRE(apply_vote(r, self, true, "", before_expiry) == VoteError::own_request);
  REQUIRE(apply_vote(r, self, false, "", before_expiry) == VoteError::own_request);
  REQUIRE(r.state == ApprovalState::pending);
  REQUIRE(r.votes.empty());
}

TEST_CASE("quorum counts distinct approvers") {
  auto r = request(2);
  REQUIRE(apply_vote(r, alice, true, "", before_expiry) == VoteError::none);
  REQUIRE(r.state == ApprovalState::pending);
  REQUIRE(apply_vote(r, alice, true, "", before_expiry) == VoteError::already_voted);
  REQUIRE(r.state == ApprovalState::pending);
  REQUIRE(apply_vote(r, bob, true, "second", before_expiry) == VoteError::none);
  REQUIRE(r.state == ApprovalState::approved);
  REQUIRE(r.comment == "second");
}

TEST_CASE("roles: the rule's approver roles, else the role approver") {
  auto leads_only = request(1, {"sre-leads"});
  REQUIRE(apply_vote(leads_only, alice, true, "", before_expiry) == VoteError::not_allowed);
  REQUIRE(apply_vote(leads_only, bob, true, "", before_expiry) == VoteError::none);
  auto anyone = request();
  REQUIRE(apply_vote(anyone, Approver{"carol", {"viewer"}}, true, "", before_expiry) == VoteError::not_allowed);
}

TEST_CASE("a request survives its JSON form, and broken JSON is refused") {
  auto r = request(2, {"sre-leads"});
  apply_vote(r, bob, true, "first of two", before_expiry);
  r.holder = "host:42";
  const auto back = approval_from_json(to_json(r));
  REQUIRE(back);
  REQUIRE(to_json(*back) == to_json(r));
  auto broken = to_json(r);
  broken["state"] = "maybe";
  REQUIRE_FALSE(approval_from_json(broken));
  broken.erase("state");
  REQUIRE_FALSE(approval_from_json(broken));
}

TEST_CASE("votes in the store are checked and recorded under the write lock, with an event each") {
  test::TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  auto r = request(2);
  r.expires = "2999-01-01T00:00:00.000000Z";
  store.append({approval_event(r, "agent", "requested")}, {}, {r});

  // Another process's view of the same file (the CLI beside a running Sluice).
  SqliteStore other(dir.file("audit.db"), Durability::normal);
  REQUIRE(other.vote(r.id, alice, true, "one").error == VoteError::none);
  REQUIRE(store.vote(r.id, alice, true, "again").error == VoteError::already_voted);
  REQUIRE(store.vote(r.id, Approver{"agent", {"approver"}}, true, "").error == VoteError::own_request);
  const auto decided = store.vote(r.id, bob, true, "two");
  REQUIRE(decided.error == VoteError::none);
  REQUIRE(decided.request->state == ApprovalState::approved);
  REQUIRE(other.approval(r.id)->state == ApprovalState::approved);
  REQUIRE(store.vote("no-such-id", bob, true, "").error == VoteError::not_found);
  REQUIRE(store.approvals(ApprovalState::pending, 10).empty());

  std::vector<std::string> details;
  EventQuery approvals;
  approvals.kind = "approval";
  store.scan(approvals, [&](const StoredEvent& row) {
    details.push_back(nlohmann::json::parse(row.record)["detail"]);
    return true;
  });
  // Refused votes leave nothing behind.
  REQUIRE(details == std::vector<std::string>{"requested", "approval vote by alice (1 of 2)", "approved by bob"});
}

}  // namespace
}  // namespace sluice::audit
