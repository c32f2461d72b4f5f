#include "proxy/filters/policy_filter.h"

#include <spdlog/spdlog.h>

#include "mcp/message.h"
#include "policy/argument_check.h"

namespace sluice::proxy {
namespace {

using mcp::json;

// Sluice's own `_meta` key, under a prefix of its own: MCP reserves
// io.modelcontextprotocol/ and mcp/.
constexpr const char* decision_meta_key = "dev.sluice/decision";
constexpr const char* modern_meta_prefix = "io.modelcontextprotocol/";
constexpr int invalid_params = -32602;
// A paginated listing longer than this is not walked to the end by Sluice itself.
constexpr int max_refresh_pages = 100;

// The 2026-07-28 envelope of a request (`_meta` entries under io.modelcontextprotocol/),
// empty for a legacy request.
json modern_meta(const mcp::Message& request) {
  json meta = json::object();
  const auto& params = request.params();
  if (!params.is_object()) return meta;
  const auto it = params.find("_meta");
  if (it == params.end() || !it->is_object()) return meta;
  for (const auto& [key, value] : it->items()) {
    if (key.starts_with(modern_meta_prefix)) meta[key] = value;
  }
  return meta;
}

json decision_meta(const policy::Decision& decision) {
  json meta = {
      {"action", policy::to_string(decision.action)},
      {"policyAction", policy::to_string(decision.policy_action)},
      {"rule", decision.rule},
      {"reason", decision.reason},
      {"class", policy::to_string(decision.tool_class)},
      {"argumentsHash", decision.arguments_hash},
  };
  if (decision.kubernetes_namespace) meta["namespace"] = *decision.kubernetes_namespace;
  return meta;
}

// A tool result in the upstream's place: the model reads `text` and can adapt.
mcp::Message tool_result(const mcp::Message& request, const std::string& text, bool is_error,
                         const policy::Decision& decision) {
  json result = {
      {"content", json::array({{{"type", "text"}, {"text", text}}})},
      {"isError", is_error},
      {"_meta", {{decision_meta_key, decision_meta(decision)}}},
  };
  if (!modern_meta(request).empty()) result["resultType"] = "complete";
  return mcp::Message::result(request.id(), std::move(result));
}

std::string json_quoted(const std::string& text) { return json(text).dump(); }

std::string rule_and_reason(const policy::Decision& decision) {
  return "rule " + json_quoted(decision.rule) + ": " + decision.reason;
}

}  // namespace

PolicyFilter::PolicyFilter(const policy::Config& config, const policy::PolicyEngine& engine,
                           policy::ToolCatalog& catalog, ApprovalQueue& approvals)
    : config_(config), engine_(engine), catalog_(catalog), approvals_(approvals) {}

asio::awaitable<Verdict> PolicyFilter::on_message(Exchange& exchange) {
  auto& message = exchange.message;
  if (exchange.direction == Direction::client_to_server) {
    if (message.is_request() && message.method() == "tools/call") co_return co_await decide_call(exchange);
    if (message.is_request() && message.method() == "tools/list") {
      const auto& params = message.params();
      const bool first_page = !params.is_object() || !params.contains("cursor");
      tools_list_requests_.insert_or_assign(mcp::id_key(message.id()), first_page);
    }
    co_return Verdict::forward();
  }
  if (message.is_response()) {
    const auto found = tools_list_requests_.find(mcp::id_key(message.id()));
    if (found != tools_list_requests_.end()) {
      const bool first_page = found->second;
      tools_list_requests_.erase(found);
      learn_tools(exchange, first_page);
    }
  } else if (message.method() == "notifications/tools/list_changed") {
    catalog_.mark_stale();
  }
  co_return Verdict::forward();
}

void PolicyFilter::learn_tools(Exchange& exchange, bool first_page) {
  const auto& body = exchange.message.body();
  const auto result = body.find("result");
  if (result == body.end() || !result->is_object()) return;
  const auto tools = result->find("tools");
  if (tools == result->end() || !tools->is_array()) return;
  const auto next = result->find("nextCursor");
  catalog_.learn(*tools, first_page, next == result->end() || !next->is_string());

  std::vector<std::size_t> denied;
  for (std::size_t i = 0; i < tools->size(); ++i) {
    const auto& tool = (*tools)[i];
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    const auto& name = tool["name"].get_ref<const std::string&>();
    if (engine_.denies_outright(name, catalog_.classify(name), config_.upstream.name, exchange.session.principal())) {
      denied.push_back(i);
    }
  }
  if (denied.empty()) return;
  auto& listed = exchange.message.mutable_body()["result"]["tools"];
  for (auto it = denied.rbegin(); it != denied.rend(); ++it) {
    spdlog::info("session {}: tools/list: hiding {} (denied outright by the policy)", exchange.session.id(),
                 listed[*it]["name"].get<std::string>());
    listed.erase(*it);
  }
}

asio::awaitable<void> PolicyFilter::refresh_catalog(Exchange& exchange) {
  const auto meta = modern_meta(exchange.message);
  std::optional<std::string> cursor;
  for (int page = 0; page < max_refresh_pages; ++page) {
    json params = json::object();
    if (cursor) params["cursor"] = *cursor;
    if (!meta.empty()) params["_meta"] = meta;
    const auto response = co_await exchange.session.ask_upstream("tools/list", std::move(params));
    if (!response || response->is_error_response()) co_return;
    const auto& result = response->body()["result"];
    if (!result.is_object()) co_return;
    const auto next = result.find("nextCursor");
    const bool last = next == result.end() || !next->is_string();
    catalog_.learn(result.value("tools", json::array()), page == 0, last);
    if (last) co_return;
    cursor = next->get<std::string>();
  }
}

asio::awaitable<Verdict> PolicyFilter::hold(Exchange& exchange, const std::string& tool, const json& arguments) {
  auto& message = exchange.message;
  const auto& decision = *exchange.decision;
  HoldRequest request;
  request.session = exchange.session.id();
  request.principal = exchange.session.principal();
  request.upstream = config_.upstream.name;
  request.tool = tool;
  request.tool_class = std::string(policy::to_string(decision.tool_class));
  request.rule = decision.rule;
  request.reason = decision.reason;
  request.arguments = arguments;
  request.arguments_hash = decision.arguments_hash;
  request.timeout = approvals_.config().timeout;
  for (const auto& rule : config_.policy.rules) {
    if (rule.name != decision.rule || !rule.approval) continue;
    if (rule.approval->timeout) request.timeout = *rule.approval->timeout;
    request.quorum = rule.approval->quorum;
    request.approver_roles = rule.approval->approvers;
  }
  const auto held_by = "Held for approval by Sluice policy (" + rule_and_reason(decision) + ")";

  HoldResult result;
  if (approvals_.config().hold == policy::HoldMode::defer) {
    result = co_await approvals_.defer(std::move(request));
  } else {
    // Progress keeps a client that resets its timeout on progress waiting.
    const auto meta = message.params().find("_meta");
    std::optional<json> token;
    if (meta != message.params().end() && meta->is_object() && meta->contains("progressToken")) {
      token = (*meta)["progressToken"];
    }
    auto& session = exchange.session;
    const auto id = message.id();
    int step = 0;
    std::function<void(const std::string&)> progress;
    if (token) {
      progress = [&session, token = *token, &step](const std::string& text) {
        session.notify_client(mcp::Message::notification(
            "notifications/progress", {{"progressToken", token}, {"progress", ++step}, {"message", text}}));
      };
    }
    // The hold ends as cancelled if the client cancels the call or goes away. The
    // callback may run after this frame is gone: it owns what it needs.
    struct Watch {
      std::string approval_id;
      bool gone = false;
    };
    auto watch = std::make_shared<Watch>();
    const auto why = "the client cancelled the call or went away";
    session.on_request_gone(id, [this, watch, why] {
      watch->gone = true;
      if (!watch->approval_id.empty()) approvals_.cancel(watch->approval_id, why);
    });
    // Named, not a temporary: GCC 12 destroys a temporary argument of a coroutine
    // call inside co_await twice.
    std::function<void(const std::string&)> on_held = [this, watch, why](const std::string& held) {
      watch->approval_id = held;
      if (watch->gone) approvals_.cancel(held, why);
    };
    result = co_await approvals_.wait(std::move(request), progress, on_held);
  }
  const auto& held = result.request;
  switch (result.outcome) {
    case HoldOutcome::approved:
      spdlog::info("session {}: tools/call {}: approved (request {}); forwarding the held arguments",
                   exchange.session.id(), tool, held.id);
      co_return Verdict::forward();
    case HoldOutcome::denied: {
      std::string by;
      for (const auto& vote : held.votes) {
        if (!vote.approve) by = vote.approver;
      }
      co_return Verdict::answer(tool_result(
          message,
          "Denied by approver " + by + (held.comment.empty() ? "" : ": " + held.comment) + " (approval request " +
              held.id + ", " + rule_and_reason(decision) + "). The call was not run.",
          true, decision));
    }
    case HoldOutcome::expired:
      co_return Verdict::answer(tool_result(
          message,
          "The approval request " + held.id + " timed out at " + held.expires +
              " without a decision, so the call was not run. This is not a denial: ask an approver to decide and "
              "call again.",
          true, decision));
    case HoldOutcome::pending:
      co_return Verdict::answer(tool_result(
          message,
          held_by + ". Approval request " + held.id + " is pending (expires " + held.expires +
              "). Retry the same call, with the same arguments, after an approver has approved it; it then runs once.",
          true, decision));
    case HoldOutcome::cancelled: co_return Verdict::drop();
    case HoldOutcome::unrecorded:
      co_return Verdict::answer(mcp::Message::error(
          message.id(), mcp::Error::audit_unavailable, "the approval request could not be recorded"));
  }
  co_return Verdict::drop();
}

asio::awaitable<Verdict> PolicyFilter::decide_call(Exchange& exchange) {
  auto& message = exchange.message;
  const auto refuse = [&](const std::string& text) {
    return Verdict::answer(mcp::Message::error(message.id(), invalid_params, "Invalid params: " + text));
  };
  const auto& params = message.params();
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    co_return refuse("tools/call needs params.name, a string");
  }
  const auto tool = params["name"].get<std::string>();
  const json no_arguments = json::object();
  const auto arguments_it = params.find("arguments");
  if (arguments_it != params.end() && !arguments_it->is_object()) {
    co_return refuse("params.arguments of tools/call must be an object");
  }
  const json& arguments = arguments_it == params.end() ? no_arguments : *arguments_it;

  if (catalog_.find(tool) == nullptr || catalog_.stale()) co_await refresh_catalog(exchange);
  const auto* entry = catalog_.find(tool);
  if (entry == nullptr) co_return refuse("unknown tool " + json_quoted(tool) + " (not in the upstream's tools/list)");
  if (const auto problem = policy::check_arguments(entry->definition.value("inputSchema", json()), arguments)) {
    co_return refuse("arguments of tool " + json_quoted(tool) + ": " + *problem);
  }

  bool takes_namespace = false;
  for (const auto& path : config_.policy.namespaces.arguments) {
    takes_namespace = takes_namespace || (!path.is_pointer() && catalog_.takes_argument(tool, path.text()));
  }
  exchange.decision = engine_.decide(
      policy::ToolCall{tool, arguments, config_.upstream.name, exchange.session.principal()},
      catalog_.classify(tool), takes_namespace);
  const auto& decision = *exchange.decision;
  spdlog::info("session {}: tools/call {} ({}): {} by {} ({}){}", exchange.session.id(), tool,
               policy::to_string(decision.tool_class), policy::to_string(decision.policy_action), decision.rule,
               decision.reason, decision.monitor_only ? "; monitor mode, forwarded anyway" : "");

  switch (decision.action) {
    case policy::Action::allow: co_return Verdict::forward();
    case policy::Action::deny:
      co_return Verdict::answer(tool_result(message, "Denied by Sluice policy (" + rule_and_reason(decision) + ").",
                                            true, decision));
    case policy::Action::dry_run: {
      const auto& argument = config_.dry_run.argument;
      if (catalog_.takes_argument(tool, argument)) {
        message.mutable_body()["params"]["arguments"][argument] = true;
        co_return Verdict::forward();
      }
      co_return Verdict::answer(tool_result(
          message,
          "DRY RUN: Sluice did not run this call (" + rule_and_reason(decision) + "). It would have called " +
              json_quoted(tool) + " with arguments " + arguments.dump() + ".",
          false, decision));
    }
    case policy::Action::require_approval: co_return co_await hold(exchange, tool, arguments);
  }
  co_return Verdict::answer(tool_result(message, "Denied: Sluice reached an unknown decision.", true, decision));
}

}  // namespace sluice::proxy
