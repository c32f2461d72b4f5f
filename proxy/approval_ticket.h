// Sluice's own `requestState` for a call held for approval in the 2026-07-28 era: the
// client carries it between rounds, so it is attacker-controlled on the way back.
// A ticket binds the approval request to the one call it may release (the tool, the
// hash of the real arguments, the principal) until the request's expiry, and is sealed
// with HMAC-SHA256 under a key only Sluice holds: a client can echo a ticket, never
// make, alter or rebind one. Replay is stopped by the queue (an approval is consumed
// by the one call it releases), not here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy {

struct ApprovalTicket {
  std::string approval_id;
  std::string tool;
  std::string arguments_hash;
  std::string principal;
  std::string expires;  // audit time
  // The upstream's own requestState that the held call carried, given back to the
  // upstream when the call is released.
  std::optional<std::string> upstream_state;
};

class TicketSeal {
 public:
  // The key in `path`: 32 random bytes, created (mode 0600) if the file is missing.
  // Empty path: a random key held in memory, so tickets die with the process. Throws
  // naming the file if it cannot be read or made, or is not a key.
  static TicketSeal from_key_file(const std::string& path);
  explicit TicketSeal(std::string key) : key_(std::move(key)) {}

  [[nodiscard]] std::string seal(const ApprovalTicket& ticket) const;
  // The ticket, if `state` is one this key sealed and its text is intact; nullopt for
  // anything else (another server's state, a forgery, a single byte changed).
  [[nodiscard]] std::optional<ApprovalTicket> open(std::string_view state) const;
  // Whether `state` claims to be Sluice's (whatever its seal says).
  [[nodiscard]] static bool claims_ours(std::string_view state);

 private:
  std::string key_;
};

}  // namespace sluice::proxy
