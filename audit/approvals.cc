#include "audit/approvals.h"

#include <algorithm>

namespace sluice::audit {

std::string_view to_string(ApprovalState state) {
  switch (state) {
    case ApprovalState::pending: return "pending";
    case ApprovalState::approved: return "approved";
    case ApprovalState::denied: return "denied";
    case ApprovalState::expired: return "expired";
    case ApprovalState::cancelled: return "cancelled";
  }
  return "pending";
}

std::optional<ApprovalState> approval_state_from(std::string_view text) {
  for (const auto state : {ApprovalState::pending, ApprovalState::approved, ApprovalState::denied,
                           ApprovalState::expired, ApprovalState::cancelled}) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

std::string_view describe(VoteError error) {
  switch (error) {
    case VoteError::none: return "recorded";
    case VoteError::not_found: return "no such approval request";
    case VoteError::not_pending: return "the request was already decided";
    case VoteError::own_request: return "the principal that made a call cannot approve it (four eyes)";
    case VoteError::not_allowed: return "the rule that held this call names approvers you are not one of";
    case VoteError::already_voted: return "you already voted on this request; quorum counts distinct approvers";
    case VoteError::expired: return "the request expired before the vote";
  }
  return "unknown";
}

VoteError apply_vote(ApprovalRecord& request, const Approver& approver, bool approve, const std::string& comment,
                     const std::string& now) {
  if (request.state != ApprovalState::pending) return VoteError::not_pending;
  if (expire(request, now)) return VoteError::expired;
  if (approver.name == request.principal) return VoteError::own_request;
  const auto& wanted = request.approver_roles.empty() ? std::vector<std::string>{"approver"} : request.approver_roles;
  const bool allowed = std::any_of(approver.roles.begin(), approver.roles.end(), [&](const std::string& role) {
    return std::find(wanted.begin(), wanted.end(), role) != wanted.end();
  });
  if (!allowed) return VoteError::not_allowed;
  if (std::any_of(request.votes.begin(), request.votes.end(),
                  [&](const Vote& vote) { return vote.approver == approver.name; })) {
    return VoteError::already_voted;
  }
  request.votes.push_back(Vote{approver.name, approve, comment, now});
  const auto approvals = std::count_if(request.votes.begin(), request.votes.end(), [](const Vote& v) { return v.approve; });
  if (!approve || approvals >= request.quorum) {
    request.state = approve ? ApprovalState::approved : ApprovalState::denied;
    request.decided = now;
    request.comment = comment;
  }
  return VoteError::none;
}

bool expire(ApprovalRecord& request, const std::string& now) {
  // Audit times are fixed-width ISO 8601 in UTC, so they compare as text.
  if (request.state != ApprovalState::pending || now < request.expires) return false;
  request.state = ApprovalState::expired;
  request.decided = now;
  request.comment = "no decision before " + request.expires;
  return true;
}

bool cancel(ApprovalRecord& request, const std::string& why, const std::string& now) {
  if (request.state != ApprovalState::pending) return false;
  request.state = ApprovalState::cancelled;
  request.decided = now;
  request.comment = why;
  return true;
}

nlohmann::json to_json(const ApprovalRecord& request) {
  nlohmann::json votes = nlohmann::json::array();
  for (const auto& vote : request.votes) {
    votes.push_back({{"approver", vote.approver}, {"approve", vote.approve}, {"comment", vote.comment}, {"time", vote.time}});
  }
  return {{"id", request.id},
          {"state", to_string(request.state)},
          {"session", request.session},
          {"principal", request.principal},
          {"upstream", request.upstream},
          {"tool", request.tool},
          {"class", request.tool_class},
          {"rule", request.rule},
          {"reason", request.reason},
          {"arguments", request.arguments},
          {"arguments_hash", request.arguments_hash},
          {"created", request.created},
          {"expires", request.expires},
          {"decided", request.decided},
          {"quorum", request.quorum},
          {"approvers", request.approver_roles},
          {"votes", votes},
          {"comment", request.comment},
          {"consumed", request.consumed},
          {"holder", request.holder}};
}

std::optional<ApprovalRecord> approval_from_json(const nlohmann::json& json) {
  try {
    ApprovalRecord request;
    request.id = json.at("id").get<std::string>();
    const auto state = approval_state_from(json.at("state").get<std::string>());
    if (!state) return std::nullopt;
    request.state = *state;
    request.session = json.at("session").get<std::string>();
    request.principal = json.at("principal").get<std::string>();
    request.upstream = json.at("upstream").get<std::string>();
    request.tool = json.at("tool").get<std::string>();
    request.tool_class = json.at("class").get<std::string>();
    request.rule = json.at("rule").get<std::string>();
    request.reason = json.at("reason").get<std::string>();
    request.arguments = json.at("arguments");
    request.arguments_hash = json.at("arguments_hash").get<std::string>();
    request.created = json.at("created").get<std::string>();
    request.expires = json.at("expires").get<std::string>();
    request.decided = json.at("decided").get<std::string>();
    request.quorum = json.at("quorum").get<int>();
    request.approver_roles = json.at("approvers").get<std::vector<std::string>>();
    for (const auto& vote : json.at("votes")) {
      request.votes.push_back(Vote{vote.at("approver").get<std::string>(), vote.at("approve").get<bool>(),
                                   vote.at("comment").get<std::string>(), vote.at("time").get<std::string>()});
    }
    request.comment = json.at("comment").get<std::string>();
    request.consumed = json.at("consumed").get<bool>();
    request.holder = json.at("holder").get<std::string>();
    return request;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace sluice::audit
