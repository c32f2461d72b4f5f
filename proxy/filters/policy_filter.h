// Governs tools/call with the policy: validates the call, classifies the tool,
// decides, and acts (forward, deny, dry-run, hold). Also keeps the tool catalog up to
// date from every tools/list response, and removes from them the tools a rule denies
// outright.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "mcp/async_event.h"
#include "policy/config.h"
#include "policy/engine.h"
#include "policy/tool_catalog.h"
#include "proxy/approval_queue.h"
#include "proxy/approval_tasks.h"
#include "proxy/pipeline.h"

namespace sluice::proxy {

class PolicyFilter final : public Filter {
 public:
  // All four outlive the filter; the catalog is the upstream's, and the queue the
  // process's, shared by sessions.
  PolicyFilter(const policy::Config& config, const policy::PolicyEngine& engine, policy::ToolCatalog& catalog,
               ApprovalQueue& approvals);

  asio::awaitable<Verdict> on_message(Exchange& exchange) override;

 private:
  asio::awaitable<Verdict> decide_call(Exchange& exchange);
  void learn_tools(Exchange& exchange, bool first_page);
  // Asks the upstream for its tools/list, unless a refresh of this session's is already
  // under way: then waits for that one (a burst of calls that all find the catalog
  // empty sends one tools/list, not one each).
  asio::awaitable<void> refresh_catalog(Exchange& exchange);
  asio::awaitable<void> fetch_catalog(Exchange& exchange);
  asio::awaitable<Verdict> hold(Exchange& exchange, const std::string& tool, const mcp::json& arguments,
                                const std::optional<ApprovalTicket>& ticket);
  Verdict settled(Exchange& exchange, const HoldResult& result);
  Verdict cancelled(const Exchange& exchange, const audit::ApprovalRecord& held) const;
  // The 2026-07-28 channel: input_required with Sluice's elicitation and sealed ticket.
  [[nodiscard]] bool in_band(const SessionContext& session) const;
  asio::awaitable<Verdict> hold_in_band(Exchange& exchange, HoldRequest request,
                                        const std::optional<ApprovalTicket>& ticket);
  mcp::json approval_prompt(const Exchange& exchange, const audit::ApprovalRecord& held) const;
  mcp::Message ask_for_approval(const Exchange& exchange, const audit::ApprovalRecord& held,
                                const ApprovalTicket& ticket) const;
  // The 2025 channel: Sluice's own elicitation/create to the client while the call waits.
  void elicit_while_held(Exchange& exchange, const std::string& approval_id, std::string& elicitation);
  std::optional<std::string> check_ticket(const Exchange& exchange, const std::string& tool, const mcp::json& arguments,
                                          std::optional<ApprovalTicket>& ticket) const;
  // The tasks channel: a client that opted into tasks has a task of Sluice's at once,
  // which completes with the call's result once an approver releases it.
  [[nodiscard]] static bool wants_task(const Exchange& exchange);
  asio::awaitable<Verdict> hold_as_task(Exchange& exchange, HoldRequest request);
  std::string waiting_for(const Exchange& exchange, const audit::ApprovalRecord& held) const;
  void settle_task(SessionContext& session, const std::string& task_id, const mcp::Message& answer);
  void tell_task(SessionContext& session, const ApprovalTask& task);
  // tasks/* for one of Sluice's own task ids, answered here; nullopt for any other id.
  asio::awaitable<std::optional<mcp::Message>> answer_task_request(Exchange& exchange);
  void list_own_tasks(mcp::Message& response);
  bool mark_dry_run(Exchange& exchange, const std::string& tool);
  bool continue_input_round(Exchange& exchange, const std::string& tool, const mcp::json& arguments);
  void learn_input_round(const mcp::Message& response);

  const policy::Config& config_;
  const policy::PolicyEngine& engine_;
  policy::ToolCatalog& catalog_;
  ApprovalQueue& approvals_;
  // Client tools/list requests awaiting their response, by id_key: true when the
  // request had no cursor (a new listing starts).
  std::unordered_map<std::string, bool> tools_list_requests_;
  // A refresh_catalog() in progress, and its end (made on first use: it needs the executor).
  bool refreshing_ = false;
  std::optional<mcp::AsyncEvent> refreshed_;
  // Sluice's own tasks in this session (made on first use: they need the executor),
  // and the client's tasks/list requests without a cursor, whose answer lists them too.
  std::optional<ApprovalTasks> tasks_;
  std::unordered_set<std::string> tasks_list_requests_;
  // A tools/call Sluice let through, as decided in its first round.
  struct DecidedCall {
    std::string tool;
    policy::Decision decision;
    mcp::json first_id;
  };
  // Forwarded tools/call requests awaiting the upstream's answer, by id_key; and the
  // calls the upstream answered with input_required, awaiting the client's retry, by
  // round_key (tool, argument hash, upstream's requestState).
  std::unordered_map<std::string, DecidedCall> forwarded_calls_;
  std::map<std::string, DecidedCall> input_rounds_;
};

}  // namespace sluice::proxy
