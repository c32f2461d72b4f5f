// Governs tools/call with the policy: validates the call, classifies the tool,
// decides, and acts (forward, deny, dry-run, hold). Also keeps the tool catalog up to
// date from every tools/list response, and removes from them the tools a rule denies
// outright.
#pragma once

#include <string>
#include <unordered_map>

#include "policy/config.h"
#include "policy/engine.h"
#include "policy/tool_catalog.h"
#include "proxy/approval_queue.h"
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
  asio::awaitable<void> refresh_catalog(Exchange& exchange);
  asio::awaitable<Verdict> hold(Exchange& exchange, const std::string& tool, const mcp::json& arguments);

  const policy::Config& config_;
  const policy::PolicyEngine& engine_;
  policy::ToolCatalog& catalog_;
  ApprovalQueue& approvals_;
  // Client tools/list requests awaiting their response, by id_key: true when the
  // request had no cursor (a new listing starts).
  std::unordered_map<std::string, bool> tools_list_requests_;
};

}  // namespace sluice::proxy
