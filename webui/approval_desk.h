// What the web UI shows and acts on, and who provides it: the proxy's ApprovalQueue
// implements ApprovalDesk, its pin store PinDesk. The UI never holds a call itself; it
// reads views and asks the desk to decide, so every rule (four eyes, quorum, roles,
// expiry) lives in one place, shared with `sluice approvals`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcp/asio.h"

namespace sluice::webui {

enum class ApprovalState { pending, approved, denied, expired, cancelled };
std::string_view to_string(ApprovalState state);

struct ApprovalVote {
  std::string approver;
  bool approve = false;
  std::string comment;
  std::string time;  // UTC ISO 8601 with microseconds, as the audit log writes it
};

// One held call, as an approver may see it: arguments are already redacted.
struct ApprovalView {
  std::string id;  // 32 lowercase hex digits
  ApprovalState state = ApprovalState::pending;
  std::string session;
  std::string principal;  // who made the call
  std::string upstream;
  std::string tool;
  std::string tool_class;  // read | mutate | destructive | changed
  std::string rule;
  std::string reason;
  nlohmann::json arguments;    // redacted
  std::string arguments_hash;  // hex SHA-256 of the canonical real arguments
  std::string created;
  std::string expires;
  std::string decided;  // empty while pending
  int quorum = 1;
  std::vector<std::string> approver_roles;  // empty: any user with the role "approver"
  std::vector<ApprovalVote> votes;
  std::string comment;  // the deciding vote's comment, or why it expired or was cancelled
};

struct Approver {
  std::string name;
  std::vector<std::string> roles;
};

enum class DecideError {
  none,
  not_found,
  not_pending,    // already approved, denied, expired or cancelled
  own_request,    // four eyes: the principal that made the call
  not_allowed,    // lacks the roles the rule asks for
  already_voted,  // quorum counts distinct approvers
  audit_failed,   // the vote could not be recorded, so it did not count
};
std::string_view to_string(DecideError error);

struct DecideResult {
  DecideError error = DecideError::none;
  std::string message;  // for the approver: what happened, or why not
  std::optional<ApprovalView> request;
};

class ApprovalDesk {
 public:
  virtual ~ApprovalDesk() = default;
  [[nodiscard]] virtual std::vector<ApprovalView> pending() const = 0;
  // Decided requests, newest first.
  [[nodiscard]] virtual std::vector<ApprovalView> history(std::size_t limit) const = 0;
  [[nodiscard]] virtual std::optional<ApprovalView> find(std::string_view id) const = 0;
  // Resumes once the vote is recorded in the audit log (or refused).
  virtual asio::awaitable<DecideResult> decide(std::string id, Approver approver, bool approve,
                                               std::string comment) = 0;
  // `on_change` runs on the loop for every new request and every change of state,
  // until unsubscribe() with the returned handle.
  virtual std::uint64_t subscribe(std::function<void(const ApprovalView&)> on_change) = 0;
  virtual void unsubscribe(std::uint64_t handle) = 0;
};

enum class PinState { pinned, changed, unpinned };

struct ToolPinView {
  std::string upstream;
  std::string tool;
  PinState state = PinState::pinned;
  std::string pinned_hash;   // empty when never pinned
  std::string current_hash;  // of the definition the upstream lists now
  std::string pinned_by;
  std::string pinned_at;
  nlohmann::json current_definition;  // null when the upstream has not listed it
  nlohmann::json pinned_definition;   // null when unknown
};

class PinDesk {
 public:
  virtual ~PinDesk() = default;
  [[nodiscard]] virtual std::vector<ToolPinView> tools() const = 0;
  // Pins the tool's current definition; false with a reason when it cannot.
  virtual asio::awaitable<DecideResult> repin(std::string upstream, std::string tool, Approver who) = 0;
};

}  // namespace sluice::webui
