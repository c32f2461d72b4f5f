// Approval requests: a held call waiting for a human, as the audit store keeps it, and
// the rules by which it changes state. Every change is also an event in the log.
// States: pending -> approved | denied | expired | cancelled; approved is "run exactly
// these arguments once", so an approval is consumed by the one call it releases.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::audit {

enum class ApprovalState { pending, approved, denied, expired, cancelled };
std::string_view to_string(ApprovalState state);
std::optional<ApprovalState> approval_state_from(std::string_view text);

struct Vote {
  std::string approver;
  bool approve = false;
  std::string comment;
  std::string time;
};

struct ApprovalRecord {
  std::string id;  // 32 hex digits
  ApprovalState state = ApprovalState::pending;
  std::string session;
  std::string principal;
  std::string upstream;
  std::string tool;
  std::string tool_class;
  std::string rule;
  std::string reason;
  nlohmann::json arguments;    // redacted
  std::string arguments_hash;  // of the real arguments
  std::string created;
  std::string expires;
  std::string decided;
  int quorum = 1;
  std::vector<std::string> approver_roles;  // empty: the role "approver"
  std::vector<Vote> votes;
  std::string comment;    // of the deciding vote, or why it expired or was cancelled
  bool consumed = false;  // the approved call has run
  std::string holder;     // host:pid of the Sluice that holds the call
};

struct Approver {
  std::string name;
  std::vector<std::string> roles;
};

enum class VoteError { none, not_found, not_pending, own_request, not_allowed, already_voted, expired };
std::string_view describe(VoteError error);

// Applies one vote at `now` (audit time format). A denial decides at once; approvals
// decide once `quorum` distinct approvers agree. A request past its expiry becomes
// expired instead, and the vote is refused.
VoteError apply_vote(ApprovalRecord& request, const Approver& approver, bool approve, const std::string& comment,
                     const std::string& now);
// Ends a pending request that nobody decided in time, or whose caller went away.
bool expire(ApprovalRecord& request, const std::string& now);
bool cancel(ApprovalRecord& request, const std::string& why, const std::string& now);

// As stored (the approvals table) and as carried by its events' `data`.
nlohmann::json to_json(const ApprovalRecord& request);
// Nullopt when `json` is not a stored request.
std::optional<ApprovalRecord> approval_from_json(const nlohmann::json& json);

}  // namespace sluice::audit
