#include "webui/approval_desk.h"

namespace sluice::webui {

std::string_view to_string(ApprovalState state) {
  switch (state) {
    case ApprovalState::pending: return "pending";
    case ApprovalState::approved: return "approved";
    case ApprovalState::denied: return "denied";
    case ApprovalState::expired: return "expired";
    case ApprovalState::cancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view to_string(DecideError error) {
  switch (error) {
    case DecideError::none: return "none";
    case DecideError::not_found: return "not_found";
    case DecideError::not_pending: return "not_pending";
    case DecideError::own_request: return "own_request";
    case DecideError::not_allowed: return "not_allowed";
    case DecideError::already_voted: return "already_voted";
    case DecideError::audit_failed: return "audit_failed";
  }
  return "unknown";
}

}  // namespace sluice::webui
