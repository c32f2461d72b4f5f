// Calls held for a human's approval. The queue records every request and every change
// of its state in the audit store (fail closed: a request that cannot be recorded is
// refused), wakes the held call when an approver decides, in the web UI, through
// `sluice approvals` in another process, or not at all before the expiry. It is the
// web UI's ApprovalDesk; the rules of a vote live in audit/approvals.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/approvals.h"
#include "audit/redactor.h"
#include "audit/sqlite_store.h"
#include "audit/writer.h"
#include "mcp/asio.h"
#include "mcp/async_event.h"
#include "policy/config.h"
#include "proxy/approval_ticket.h"
#include "webui/approval_desk.h"
#include "webui/metrics.h"

namespace sluice::proxy {

struct HoldRequest {
  std::string session;
  std::string principal;
  std::string upstream;
  std::string tool;
  std::string tool_class;
  std::string rule;
  std::string reason;
  nlohmann::json arguments;  // the real ones; the queue stores them redacted
  std::string arguments_hash;
  std::chrono::seconds timeout{600};
  int quorum = 1;
  std::vector<std::string> approver_roles;
};

enum class HoldOutcome {
  approved,    // run the call, once
  used,        // approved, and its one call already ran: a replay
  denied,
  expired,
  cancelled,   // the client cancelled or went away: answer nothing
  pending,     // defer: asked for, not decided yet
  unrecorded,  // the audit store could not record the request: refuse
};

struct HoldResult {
  HoldOutcome outcome = HoldOutcome::unrecorded;
  audit::ApprovalRecord request;
};

class ApprovalQueue final : public webui::ApprovalDesk {
 public:
  // Without a writer (no audit.path) requests live in memory only, and `sluice
  // approvals` cannot see them.
  ApprovalQueue(const asio::any_io_executor& executor, audit::AuditWriter* writer,
                std::unique_ptr<audit::SqliteStore> reader, const audit::Redactor& redactor,
                policy::ApprovalConfig config);
  ~ApprovalQueue() override;

  // hold: wait. Resumes when the request is decided, expires or is cancelled;
  // `progress` (may be empty) is called every approval.progress_interval meanwhile,
  // `held` once the request is recorded, with its id.
  asio::awaitable<HoldResult> wait(HoldRequest request, std::function<void(const std::string&)> progress,
                                   std::function<void(const std::string&)> held);
  // hold: defer. An approved request for the same tool, arguments and principal is
  // consumed (approved); else the pending one, or a new one (pending).
  asio::awaitable<HoldResult> defer(HoldRequest request);
  // hold in band (a 2026-07-28 client answered input_required): records the request
  // and lets it expire on its own; the client comes back with poll().
  asio::awaitable<HoldResult> open(HoldRequest request);
  // The state of request `id`, waiting up to `long_poll` while it is pending so that a
  // client that retries at once does not spin. An approved request is consumed here,
  // by the one call it releases; asked again, it is `used`.
  asio::awaitable<HoldResult> poll(const std::string& id, std::chrono::milliseconds long_poll);
  // approval.client_may_approve: the person at the client approved (they are the
  // approver; there is no second pair of eyes to ask). False if not pending.
  bool approve_at_client(const std::string& id, const std::string& principal);
  // The client cancelled the call, or went away.
  void cancel(const std::string& id, const std::string& why);
  // Sluice is stopping: every call held now, and every one held from now on, is
  // cancelled for `why`, so that its client is answered instead of cut off.
  void cancel_all(const std::string& why);
  // Request `id` wherever it is: live, in the store, or in the in-memory history.
  std::optional<audit::ApprovalRecord> lookup(const std::string& id);
  // Pending requests whose Sluice is gone (it crashed, or was killed) become cancelled.
  void cancel_orphans();

  // Pending requests, how requests ended and how long they waited, for /metrics.
  void report_to(webui::SluiceMetrics& metrics) { metrics_ = &metrics; }
  [[nodiscard]] const policy::ApprovalConfig& config() const { return config_; }
  // Seals and opens the requestState of calls held in band.
  [[nodiscard]] const TicketSeal& tickets() const { return tickets_; }
  [[nodiscard]] std::size_t held() const { return live_.size(); }

  // webui::ApprovalDesk
  [[nodiscard]] std::vector<webui::ApprovalView> pending() const override;
  [[nodiscard]] std::vector<webui::ApprovalView> history(std::size_t limit) const override;
  [[nodiscard]] std::optional<webui::ApprovalView> find(std::string_view id) const override;
  asio::awaitable<webui::DecideResult> decide(std::string id, webui::Approver approver, bool approve,
                                              std::string comment) override;
  std::uint64_t subscribe(std::function<void(const webui::ApprovalView&)> on_change) override;
  void unsubscribe(std::uint64_t handle) override;

 private:
  struct Live {
    audit::ApprovalRecord record;
    std::shared_ptr<mcp::AsyncEvent> changed;
  };
  asio::awaitable<std::optional<audit::ApprovalRecord>> create(HoldRequest request);
  // Waits until the live request `id` is decided or expires (marking it expired), or
  // is cancelled; `progress` (may be empty) is called every progress_interval.
  asio::awaitable<void> settle(const std::string& id, const std::function<void(const std::string&)>& progress);
  // Nobody is held for a request opened in band: it settles (or expires) on its own,
  // and then leaves the live set; poll() finds it in the store or the history.
  asio::awaitable<void> settle_alone(std::string id);
  // Records a change made here (expiry, cancellation, consumption) and tells everyone.
  void changed(const audit::ApprovalRecord& record, const std::string& actor, const std::string& what);
  void publish(const audit::ApprovalRecord& record);
  // Without a store: keeps an ended request for history() and poll().
  void remember_ended(const audit::ApprovalRecord& record);
  // Picks up decisions that other processes wrote to the store.
  asio::awaitable<void> watch_store();
  void reload_from_store();
  // Requests in `state` that a deferred retry may match.
  std::vector<audit::ApprovalRecord> candidates(audit::ApprovalState state);

  asio::any_io_executor executor_;
  audit::AuditWriter* writer_;
  std::unique_ptr<audit::SqliteStore> reader_;
  const audit::Redactor& redactor_;
  policy::ApprovalConfig config_;
  TicketSeal tickets_;
  std::string holder_;
  std::map<std::string, Live, std::less<>> live_;
  std::vector<audit::ApprovalRecord> memory_history_;  // without a store
  std::set<std::string, std::less<>> consumed_here_;    // approvals poll() released
  std::map<std::uint64_t, std::function<void(const webui::ApprovalView&)>> subscribers_;
  std::uint64_t next_subscriber_ = 1;
  webui::SluiceMetrics* metrics_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  mcp::AsyncEvent watch_wake_;
  std::string closing_why_;  // set by cancel_all
};

webui::ApprovalView view_of(const audit::ApprovalRecord& record);

}  // namespace sluice::proxy
