#include "proxy/filters/policy_filter.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "mcp/digest.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"
#include "policy/argument_check.h"

namespace sluice::proxy {
namespace {

using mcp::json;
using mcp::json_quoted;

// Sluice's own `_meta` key, under a prefix of its own: MCP reserves
// io.modelcontextprotocol/ and mcp/.
constexpr const char* decision_meta_key = "dev.sluice/decision";
constexpr int invalid_params = -32602;
// A paginated listing longer than this is not walked to the end by Sluice itself.
constexpr int max_refresh_pages = 100;
// Calls remembered per session: forwarded and unanswered, or awaiting a retry. Past
// this, the oldest round is forgotten (its retry is then decided afresh).
constexpr std::size_t max_remembered_calls = 256;

// Which retry continues which input round: the same tool, the same arguments, and
// upstream's requestState echoed byte for byte (or absent on both).
std::string round_key(const std::string& tool, const std::string& arguments_hash, const json& request_state) {
  return tool + '\n' + arguments_hash + '\n' + (request_state.is_string() ? "s" + request_state.get<std::string>() : "-");
}

// A reference, not a copy: a member may be a whole tool result.
const json& member(const json& object, const char* key) {
  static const json absent;
  if (!object.is_object()) return absent;
  const auto found = object.find(key);
  return found == object.end() ? absent : *found;
}

// Sluice's own key in a 2026-07-28 input round (`inputRequests`, `inputResponses`),
// under its own prefix.
constexpr const char* approval_input_key = "dev.sluice/approval";
// The 2026-07-28 tasks extension, as a client declares it in its capabilities.
constexpr const char* tasks_extension = "io.modelcontextprotocol/tasks";

std::string who_may_approve(const audit::ApprovalRecord& held, bool client_may_approve) {
  std::string roles;
  for (const auto& role : held.approver_roles) roles += (roles.empty() ? "" : ", ") + role;
  auto who = roles.empty() ? std::string("an approver") : "an approver with the role " + roles;
  if (held.quorum > 1) who = std::to_string(held.quorum) + " approvers (" + (roles.empty() ? "approver" : roles) + ")";
  return client_may_approve ? "you (approval.client_may_approve), or " + who : who;
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
mcp::Message tool_result(const Exchange& exchange, const std::string& text, bool is_error) {
  json result = {
      {"content", json::array({{{"type", "text"}, {"text", text}}})},
      {"isError", is_error},
      {"_meta", {{decision_meta_key, decision_meta(*exchange.decision)}}},
  };
  return mcp::own_result(exchange.session.era(), exchange.message.id(), std::move(result));
}

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
    if (message.is_request() && message.method() == "tools/call") {
      auto verdict = co_await decide_call(exchange);
      if (verdict.kind() == Verdict::Kind::forward && exchange.decision && forwarded_calls_.size() < max_remembered_calls) {
        forwarded_calls_.insert_or_assign(
            mcp::id_key(message.id()),
            DecidedCall{message.params()["name"].get<std::string>(), *exchange.decision,
                        exchange.retry_of ? *exchange.retry_of : message.id()});
      }
      co_return verdict;
    }
    if (message.is_request() && message.method().starts_with("tasks/")) {
      if (!tasks_) tasks_.emplace(co_await asio::this_coro::executor);
      if (auto answer = co_await answer_task_request(exchange)) co_return Verdict::answer(std::move(*answer));
      if (message.method() == "tasks/list" && !member(message.params(), "cursor").is_string()) {
        tasks_list_requests_.insert(mcp::id_key(message.id()));
      }
      co_return Verdict::forward();
    }
    if (message.is_request() && message.method() == "tools/list") {
      const auto& params = message.params();
      const bool first_page = !params.is_object() || !params.contains("cursor");
      tools_list_requests_.insert_or_assign(mcp::id_key(message.id()), first_page);
    }
    if (message.method() == "notifications/cancelled") {
      // A cancelled call may never be answered: it is not awaited any more.
      const auto& cancelled = member(message.params(), "requestId");
      if (!cancelled.is_null()) forwarded_calls_.erase(mcp::id_key(cancelled));
    }
    co_return Verdict::forward();
  }
  if (message.is_response()) {
    learn_input_round(message);
    if (tasks_list_requests_.erase(mcp::id_key(message.id())) > 0) list_own_tasks(message);
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

void PolicyFilter::learn_input_round(const mcp::Message& response) {
  const auto found = forwarded_calls_.find(mcp::id_key(response.id()));
  if (found == forwarded_calls_.end()) return;
  auto call = std::move(found->second);
  forwarded_calls_.erase(found);
  const auto& result = member(response.body(), "result");
  const auto& type = member(result, "resultType");
  // Compared as a string: comparing the json with a literal makes a json of it first.
  if (!type.is_string() || type.get_ref<const std::string&>() != "input_required") return;
  if (input_rounds_.size() >= max_remembered_calls) input_rounds_.erase(input_rounds_.begin());
  auto key = round_key(call.tool, call.decision.arguments_hash, member(result, "requestState"));
  input_rounds_.insert_or_assign(std::move(key), std::move(call));
}

// A retry that echoes the upstream's requestState (and brings inputResponses) for the
// same tool and arguments continues that call under its first decision: the policy is
// not asked again, no second approval is sought, and the audit log keeps one record.
// A retry that matches no round Sluice saw is just a new call, decided afresh.
bool PolicyFilter::continue_input_round(Exchange& exchange, const std::string& tool, const json& arguments) {
  const auto& params = exchange.message.params();
  const auto& state = member(params, "requestState");
  if (state.is_null() && member(params, "inputResponses").is_null()) return false;
  const auto found = input_rounds_.find(round_key(tool, mcp::sha256_hex(mcp::canonical_json(arguments)), state));
  if (found == input_rounds_.end()) return false;
  exchange.decision = std::move(found->second.decision);
  exchange.retry_of = std::move(found->second.first_id);
  input_rounds_.erase(found);
  spdlog::info("session {}: tools/call {}: a retry of an input round, continued under its first decision ({})",
               exchange.session.id(), tool, exchange.decision->rule);
  return true;
}

// A dry run the upstream itself performs, where the tool takes the dry-run argument.
bool PolicyFilter::mark_dry_run(Exchange& exchange, const std::string& tool) {
  const auto& argument = config_.dry_run.argument;
  if (!catalog_.takes_argument(tool, argument)) return false;
  exchange.message.mutable_body()["params"]["arguments"][argument] = true;
  return true;
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
  auto& filtered = exchange.message.mutable_body()["result"];
  auto& listed = filtered["tools"];
  for (auto it = denied.rbegin(); it != denied.rend(); ++it) {
    spdlog::info("session {}: tools/list: hiding {} (denied outright by the policy)", exchange.session.id(),
                 listed[*it]["name"].get<std::string>());
    listed.erase(*it);
  }
  // What is left depends on who asked (rules may name principals): a list the upstream
  // made for everyone is, once filtered, this caller's. ttlMs stays as the upstream set it.
  if (member(filtered, "cacheScope") == "public") filtered["cacheScope"] = "private";
}

asio::awaitable<void> PolicyFilter::refresh_catalog(Exchange& exchange) {
  if (!refreshed_) refreshed_.emplace(co_await asio::this_coro::executor);
  if (refreshing_) {
    while (refreshing_) co_await refreshed_->wait();
    co_return;
  }
  refreshing_ = true;
  std::exception_ptr failure;
  try {
    co_await fetch_catalog(exchange);
  } catch (...) {
    failure = std::current_exception();
  }
  refreshing_ = false;
  refreshed_->notify_all();
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> PolicyFilter::fetch_catalog(Exchange& exchange) {
  std::optional<std::string> cursor;
  for (int page = 0; page < max_refresh_pages; ++page) {
    json params = json::object();
    if (cursor) params["cursor"] = *cursor;
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

asio::awaitable<Verdict> PolicyFilter::hold(Exchange& exchange, const std::string& tool, const json& arguments,
                                            const std::optional<ApprovalTicket>& ticket) {
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
  if (!ticket && approvals_.config().hold == policy::HoldMode::automatic && wants_task(exchange)) {
    if (!tasks_) tasks_.emplace(co_await asio::this_coro::executor);
    co_return co_await hold_as_task(exchange, std::move(request));
  }
  if (ticket || (approvals_.config().hold == policy::HoldMode::automatic && in_band(exchange.session))) {
    co_return co_await hold_in_band(exchange, std::move(request), ticket);
  }

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
    std::string elicitation;
    std::function<void(const std::string&)> on_held = [this, watch, why, &exchange, &elicitation](const std::string& held) {
      watch->approval_id = held;
      if (watch->gone) {
        approvals_.cancel(held, why);
      } else {
        elicit_while_held(exchange, held, elicitation);
      }
    };
    result = co_await approvals_.wait(std::move(request), progress, on_held);
    if (!elicitation.empty()) session.withdraw_from_client(elicitation, "the approval request was settled");
    // Declined at Sluice's prompt: the client still waits for its answer.
    if (result.outcome == HoldOutcome::cancelled && !watch->gone) co_return cancelled(exchange, result.request);
  }
  co_return settled(exchange, result);
}

Verdict PolicyFilter::settled(Exchange& exchange, const HoldResult& result) {
  const auto& message = exchange.message;
  const auto& decision = *exchange.decision;
  const auto& held = result.request;
  const auto held_by = "Held for approval by Sluice policy (" + rule_and_reason(decision) + ")";
  switch (result.outcome) {
    case HoldOutcome::approved:
      spdlog::info("session {}: tools/call {}: approved (request {}); forwarding the held arguments",
                   exchange.session.id(), held.tool, held.id);
      return Verdict::forward();
    case HoldOutcome::used:
      return Verdict::answer(mcp::Message::error(
          message.id(), invalid_params,
          "Invalid params: approval request " + held.id + " already released its one call; nothing was forwarded"));
    case HoldOutcome::denied: {
      std::string by;
      for (const auto& vote : held.votes) {
        if (!vote.approve) by = vote.approver;
      }
      return Verdict::answer(tool_result(
          exchange,
          "Denied by approver " + by + (held.comment.empty() ? "" : ": " + held.comment) + " (approval request " +
              held.id + ", " + rule_and_reason(decision) + "). The call was not run.",
          true));
    }
    case HoldOutcome::expired:
      return Verdict::answer(tool_result(
          exchange,
          "The approval request " + held.id + " timed out at " + held.expires +
              " without a decision, so the call was not run. This is not a denial: ask an approver to decide and "
              "call again.",
          true));
    case HoldOutcome::pending:
      return Verdict::answer(tool_result(
          exchange,
          held_by + ". Approval request " + held.id + " is pending (expires " + held.expires +
              "). Retry the same call, with the same arguments, after an approver has approved it; it then runs once.",
          true));
    case HoldOutcome::cancelled: return Verdict::drop();
    case HoldOutcome::unrecorded:
      return Verdict::answer(mcp::Message::error(
          message.id(), mcp::Error::audit_unavailable, "the approval request could not be recorded"));
  }
  return Verdict::drop();
}

bool PolicyFilter::in_band(const SessionContext& session) const {
  const auto& elicitation = member(session.client_capabilities(), "elicitation");
  return session.era() == mcp::ProtocolEra::modern && elicitation.is_object();
}

// The input_required answer that tells a 2026-07-28 client, in the protocol, that a
// human must approve the call, who, and where; its requestState is Sluice's sealed
// ticket, which the client must bring back to learn the decision.
// Sluice's elicitation for a held call, in either era: what is held, by which rule,
// who may approve, and where.
json PolicyFilter::approval_prompt(const Exchange& exchange, const audit::ApprovalRecord& held) const {
  const bool client_may_approve = approvals_.config().client_may_approve;
  const auto& elicitation = member(exchange.session.client_capabilities(), "elicitation");
  const bool url_mode = config_.ui && !client_may_approve && member(elicitation, "url").is_object();
  auto text = "Sluice, the governance proxy in front of " + json_quoted(config_.upstream.name) + ", holds tools/call " +
              json_quoted(held.tool) + " with arguments " + held.arguments.dump() + " for approval (" +
              rule_and_reason(*exchange.decision) + "). It runs once " + who_may_approve(held, client_may_approve) +
              " approves request " + held.id + " (expires " + held.expires + ")";
  json params;
  if (url_mode) {
    params = {{"mode", "url"},
              {"url", "http://" + config_.ui->address + "/approvals/" + held.id},
              {"message", text + ", on this page of Sluice's approval UI."}};
  } else {
    json properties = json::object();
    if (client_may_approve) {
      properties["approve"] = {{"type", "boolean"}, {"title", "Approve this call"}, {"default", false}};
      text += ". Approve it here to run it.";
    } else {
      text += ", in Sluice's approval UI or with `sluice approvals approve " + held.id +
              "`. Answering here does not approve it: continue once it is decided.";
    }
    params = {{"mode", "form"}, {"message", text}, {"requestedSchema", {{"type", "object"}, {"properties", properties}}}};
  }
  // 2025-11-25 URL mode names the elicitation; 2026-07-28 learns the outcome by the retry.
  if (url_mode && exchange.session.era() == mcp::ProtocolEra::legacy) params["elicitationId"] = held.id;
  return params;
}

mcp::Message PolicyFilter::ask_for_approval(const Exchange& exchange, const audit::ApprovalRecord& held,
                                            const ApprovalTicket& ticket) const {
  auto params = approval_prompt(exchange, held);
  auto meta = decision_meta(*exchange.decision);
  meta["approval"] = held.id;
  json result = {
      {"resultType", "input_required"},
      {"inputRequests", {{approval_input_key, {{"method", "elicitation/create"}, {"params", std::move(params)}}}}},
      {"requestState", approvals_.tickets().seal(ticket)},
      {"_meta", {{decision_meta_key, std::move(meta)}}},
  };
  return mcp::Message::result(exchange.message.id(), std::move(result));
}

// A retry that carries Sluice's ticket: a forgery, an altered ticket, one bound to
// another call or caller, or Sluice's input key answered without a ticket, is refused
// here, before any decision, and nothing reaches the upstream.
std::optional<std::string> PolicyFilter::check_ticket(const Exchange& exchange, const std::string& tool,
                                                      const json& arguments, std::optional<ApprovalTicket>& ticket) const {
  const auto& params = exchange.message.params();
  const auto& state = member(params, "requestState");
  const bool answers_ours = !member(member(params, "inputResponses"), approval_input_key).is_null();
  const bool claims_ours = state.is_string() && TicketSeal::claims_ours(state.get_ref<const std::string&>());
  if (!claims_ours) {
    if (answers_ours) return "an answer to Sluice's approval (" + std::string(approval_input_key) + ") without Sluice's requestState";
    return std::nullopt;
  }
  ticket = approvals_.tickets().open(state.get_ref<const std::string&>());
  if (!ticket) return "the requestState is not one Sluice issued (forged or altered)";
  if (ticket->tool != tool || ticket->arguments_hash != mcp::sha256_hex(mcp::canonical_json(arguments)) ||
      ticket->principal != exchange.session.principal()) {
    return "the requestState of approval request " + ticket->approval_id + " was issued for another call or caller";
  }
  return std::nullopt;
}

namespace {

// What the upstream gets of a call released by its ticket: no trace of Sluice's round,
// and its own requestState back if the call carried one.
void strip_ticket(mcp::Message& message, const ApprovalTicket& ticket) {
  auto& params = message.mutable_body()["params"];
  if (const auto responses = params.find("inputResponses"); responses != params.end() && responses->is_object()) {
    responses->erase(approval_input_key);
    if (responses->empty()) params.erase("inputResponses");
  }
  if (ticket.upstream_state) {
    params["requestState"] = *ticket.upstream_state;
  } else {
    params.erase("requestState");
  }
}

}  // namespace

Verdict PolicyFilter::cancelled(const Exchange& exchange, const audit::ApprovalRecord& held) const {
  return Verdict::answer(tool_result(
      exchange, "Approval request " + held.id + " was cancelled (" + held.comment + "). The call was not run.", true));
}

void PolicyFilter::elicit_while_held(Exchange& exchange, const std::string& approval_id, std::string& elicitation) {
  auto& session = exchange.session;
  if (approvals_.config().hold != policy::HoldMode::automatic || session.era() != mcp::ProtocolEra::legacy ||
      !member(session.client_capabilities(), "elicitation").is_object()) {
    return;
  }
  const auto held = approvals_.lookup(approval_id);
  if (!held) return;
  // The answer may come after this call's frame is gone: the callback owns what it needs.
  elicitation = session.ask_client(
      "elicitation/create", approval_prompt(exchange, *held),
      [this, approval_id, principal = session.principal()](const mcp::Message& answer) {
        const auto& result = member(answer.body(), "result");
        const auto& action = member(result, "action");
        if (action == "decline" || action == "cancel") {
          approvals_.cancel(approval_id, "the client declined at Sluice's approval prompt");
        } else if (action == "accept" && approvals_.config().client_may_approve &&
                   member(member(result, "content"), "approve") == true) {
          approvals_.approve_at_client(approval_id, principal);
        }
      });
}

asio::awaitable<Verdict> PolicyFilter::hold_in_band(Exchange& exchange, HoldRequest request,
                                                    const std::optional<ApprovalTicket>& ticket) {
  auto& message = exchange.message;
  if (!ticket) {
    const auto tool = request.tool;
    const auto opened = co_await approvals_.open(std::move(request));
    if (opened.outcome == HoldOutcome::unrecorded) co_return settled(exchange, opened);
    const auto& state = member(message.params(), "requestState");
    const ApprovalTicket fresh{opened.request.id, tool, exchange.decision->arguments_hash, exchange.session.principal(),
                               opened.request.expires,
                               state.is_string() ? std::optional<std::string>(state.get<std::string>()) : std::nullopt};
    spdlog::info("session {}: tools/call {}: held in band (input_required), approval request {}", exchange.session.id(),
                 tool, fresh.approval_id);
    co_return Verdict::answer(ask_for_approval(exchange, opened.request, fresh));
  }
  // The client came back: what it answered at Sluice's prompt, then the decision.
  const auto& answer = member(member(message.params(), "inputResponses"), approval_input_key);
  const auto& action = member(answer, "action");
  if (action == "decline" || action == "cancel") {
    approvals_.cancel(ticket->approval_id, "the client declined at Sluice's approval prompt");
  } else if (action == "accept" && approvals_.config().client_may_approve &&
             member(member(answer, "content"), "approve") == true) {
    approvals_.approve_at_client(ticket->approval_id, exchange.session.principal());
  }
  const auto long_poll = std::chrono::duration_cast<std::chrono::milliseconds>(approvals_.config().progress_interval);
  const auto result = co_await approvals_.poll(ticket->approval_id, long_poll);
  switch (result.outcome) {
    case HoldOutcome::approved: strip_ticket(message, *ticket); break;
    case HoldOutcome::pending: co_return Verdict::answer(ask_for_approval(exchange, result.request, *ticket));
    case HoldOutcome::cancelled: co_return cancelled(exchange, result.request);
    case HoldOutcome::unrecorded:
      // Sealed by this key, but the request is gone (a Sluice without an audit log restarted).
      co_return Verdict::answer(mcp::Message::error(
          message.id(), invalid_params,
          "Invalid params: approval request " + ticket->approval_id +
              " is not known to this Sluice; nothing was forwarded. Call again without requestState to ask anew"));
    default: break;
  }
  co_return settled(exchange, result);
}

bool PolicyFilter::wants_task(const Exchange& exchange) {
  // A task must outlive the request that made it: over 2026-07-28 HTTP the request's
  // session does not, so such a client gets the input_required round (or waits).
  if (exchange.session.one_request()) return false;
  const auto& params = exchange.message.params();
  if (exchange.session.era() != mcp::ProtocolEra::modern) return member(params, "task").is_object();
  // The extension is declared per request, and only a request that declares it may
  // be answered with a task.
  const auto& capabilities =
      member(member(params, "_meta"), std::string(mcp::client_capabilities_meta_key).c_str());
  return member(member(capabilities, "extensions"), tasks_extension).is_object();
}

std::string PolicyFilter::waiting_for(const Exchange& exchange, const audit::ApprovalRecord& held) const {
  auto where = config_.ui ? "in Sluice's approval UI (http://" + config_.ui->address + "/approvals/" +
                                held.id + ") or "
                          : "";
  return "Held for approval by Sluice policy (" + rule_and_reason(*exchange.decision) + "): waits for " +
         who_may_approve(held, false) + " to approve request " + held.id + " " + where +
         "with `sluice approvals approve " + held.id + "` (expires " + held.expires +
         "). tasks/cancel withdraws the request.";
}

void PolicyFilter::tell_task(SessionContext& session, const ApprovalTask& task) {
  // 2026-07-28 sends task notifications only on a subscriptions/listen stream that
  // asked for the task's id; Sluice's tasks are polled there.
  if (task.era != mcp::ProtocolEra::modern) session.notify_client(ApprovalTasks::status_notification(task));
}

void PolicyFilter::settle_task(SessionContext& session, const std::string& task_id,
                               const mcp::Message& answer) {
  auto* task = tasks_->find(task_id);
  if (task == nullptr || task->terminal()) return;
  const auto& result = member(answer.body(), "result");
  std::string summary = "Completed: the approved call ran on the upstream";
  if (member(result, "resultType") == "input_required") {
    // The upstream asks for input after the call was released: a task of Sluice's
    // cannot carry that round (the client would answer it with tasks/update).
    tasks_->finish(
        *task,
        mcp::Message::error(answer.id(), -32603,
                            "the upstream asked for input (input_required) after approval request " +
                                task->approval_id +
                                " released the call; call it again without a task to answer it"),
        "Failed: the upstream asked for input that a task of Sluice's cannot carry");
    tell_task(session, *task);
    return;
  }
  if (answer.is_error_response()) {
    const auto& why = member(member(answer.body(), "error"), "message");
    summary = "Failed: " + (why.is_string() ? why.get<std::string>() : std::string("a JSON-RPC error"));
  } else if (member(result, "isError") == true) {
    // Sluice's own answer (a denial, an expiry) or the tool's error: its text says which.
    const auto& content = member(result, "content");
    const auto first = content.is_array() && !content.empty() ? member(content[0], "text") : json(nullptr);
    summary = first.is_string() ? first.get<std::string>() : "The call ended with a tool error";
  }
  tasks_->finish(*task, answer, std::move(summary));
  tell_task(session, *task);
}

asio::awaitable<Verdict> PolicyFilter::hold_as_task(Exchange& exchange, HoldRequest request) {
  auto& session = exchange.session;
  const auto era =
      session.era() == mcp::ProtocolEra::modern ? mcp::ProtocolEra::modern : mcp::ProtocolEra::legacy;
  const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(request.timeout).count();
  const auto poll_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(approvals_.config().progress_interval).count();
  // As in `wait`, the hold ends as cancelled if the client leaves; the callbacks may
  // run after this frame is gone: they own what they need.
  struct Watch {
    std::string approval_id;
    bool gone = false;
  };
  auto watch = std::make_shared<Watch>();
  const auto gone = [this, watch] {
    watch->gone = true;
    if (!watch->approval_id.empty())
      approvals_.cancel(watch->approval_id, "the client cancelled the call or went away");
  };
  session.on_request_gone(exchange.message.id(), gone);
  std::string task_id;
  // Named, not a temporary: GCC 12 destroys a temporary argument of a coroutine call
  // inside co_await twice.
  std::function<void(const std::string&)> on_held = [&](const std::string& approval_id) {
    watch->approval_id = approval_id;
    const auto held = approvals_.lookup(approval_id);
    if (watch->gone || !held) {
      approvals_.cancel(approval_id, "the client cancelled the call or went away");
      return;
    }
    auto& task = tasks_->create(era, approval_id, waiting_for(exchange, *held), ttl_ms, poll_ms);
    task_id = task.id;
    spdlog::info("session {}: tools/call {}: held as task {}, approval request {}", session.id(), held->tool,
                 task.id, approval_id);
    auto answer = mcp::Message::result(exchange.message.id(), ApprovalTasks::created(task));
    session.take_over(
        exchange.message, std::move(answer),
        [this, &session, id = task.id](const mcp::Message& settled) { settle_task(session, id, settled); });
    session.on_request_gone(exchange.message.id(), gone);
  };
  const std::function<void(const std::string&)> no_progress;
  auto result = co_await approvals_.wait(std::move(request), no_progress, on_held);
  auto* task = task_id.empty() ? nullptr : tasks_->find(task_id);
  if (task == nullptr) {
    if (result.outcome == HoldOutcome::cancelled) co_return Verdict::drop();
    co_return settled(exchange, result);
  }
  if (result.outcome == HoldOutcome::cancelled) {
    // tasks/cancel, or the client left: the taken-over request still gets its one answer.
    if (!task->terminal()) {
      tasks_->cancel(*task, "Cancelled: approval request " + task->approval_id + " was cancelled (" +
                                result.request.comment + ")");
      tell_task(session, *task);
    }
    co_return cancelled(exchange, result.request);
  }
  if (result.outcome == HoldOutcome::approved) {
    task->released = true;
    tasks_->progress(*task, "Approved (request " + task->approval_id + "); the call runs on the upstream");
    tell_task(session, *task);
    // The upstream runs the call as a plain one: no task of its own to chain.
    auto& params = exchange.message.mutable_body()["params"];
    params.erase("task");
    if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
      auto capabilities = meta->find(mcp::client_capabilities_meta_key);
      if (capabilities != meta->end() && capabilities->is_object() && capabilities->contains("extensions") &&
          (*capabilities)["extensions"].is_object()) {
        (*capabilities)["extensions"].erase(tasks_extension);
      }
    }
  }
  co_return settled(exchange, result);
}

asio::awaitable<std::optional<mcp::Message>> PolicyFilter::answer_task_request(Exchange& exchange) {
  const auto& message = exchange.message;
  const auto& params = message.params();
  const auto& task_id = member(params, "taskId");
  auto* task = task_id.is_string() ? tasks_->find(task_id.get_ref<const std::string&>()) : nullptr;
  if (task == nullptr) co_return std::nullopt;
  auto& session = exchange.session;
  const auto method = message.method();
  const auto id = message.id();
  const bool modern = task->era == mcp::ProtocolEra::modern;
  if (method == "tasks/get") co_return mcp::Message::result(id, ApprovalTasks::detailed(*task));
  if (method == "tasks/update") {
    // Sluice's tasks never ask for input: there is nothing outstanding to answer.
    co_return mcp::own_result(session.era(), id, json::object());
  }
  if (method == "tasks/result") {
    auto left = std::make_shared<bool>(false);
    session.on_request_gone(id, [this, left] {
      *left = true;
      tasks_->wake();
    });
    const auto own = task->id;
    // Named, not a temporary (GCC 12, as above).
    const std::function<bool()> gone = [left] { return *left; };
    co_await tasks_->until_ended(own, gone);
    task = tasks_->find(own);
    if (*left || task == nullptr) co_return std::nullopt;
    co_return ApprovalTasks::outcome(*task, id);
  }
  if (method == "tasks/cancel") {
    if (task->terminal()) {
      co_return mcp::Message::error(id, invalid_params,
                                    "Invalid params: task " + task->id + " already ended (" +
                                        std::string(to_string(task->status)) + "); nothing to cancel");
    }
    if (task->released) {
      tasks_->cancel(*task,
                     "Cancelled by the client while the approved call ran; what it returns is discarded");
    } else {
      tasks_->cancel(*task, "Cancelled by the client (tasks/cancel); approval request " + task->approval_id +
                                " is cancelled, and the call did not run");
      approvals_.cancel(task->approval_id, "the client cancelled task " + task->id);
    }
    tell_task(session, *task);
    co_return mcp::Message::result(
        id, modern ? json{{"resultType", "complete"}} : ApprovalTasks::detailed(*task));
  }
  co_return std::nullopt;
}

void PolicyFilter::list_own_tasks(mcp::Message& response) {
  if (!tasks_) return;
  auto own = tasks_->listed();
  if (own.empty()) return;
  auto& body = response.mutable_body();
  if (response.is_error_response()) {
    // An upstream without tasks of its own: the list is Sluice's.
    body.erase("error");
    body["result"] = {{"tasks", std::move(own)}};
    return;
  }
  auto& tasks = body["result"]["tasks"];
  if (!tasks.is_array()) tasks = json::array();
  for (auto& task : own) tasks.push_back(std::move(task));
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

  if (continue_input_round(exchange, tool, arguments)) {
    if (exchange.decision->action == policy::Action::dry_run) mark_dry_run(exchange, tool);
    co_return Verdict::forward();
  }
  std::optional<ApprovalTicket> ticket;
  if (const auto forged = check_ticket(exchange, tool, arguments, ticket)) {
    spdlog::warn("session {}: tools/call {}: refused: {}", exchange.session.id(), tool, *forged);
    co_return refuse(*forged + "; nothing was forwarded");
  }

  if (catalog_.find(tool) == nullptr || catalog_.stale()) co_await refresh_catalog(exchange);
  const auto* entry = catalog_.find(tool);
  if (entry == nullptr) co_return refuse("unknown tool " + json_quoted(tool) + " (not in the upstream's tools/list)");
  const auto& schema = member(entry->definition, "inputSchema");
  if (const auto problem = policy::check_arguments(schema, arguments)) {
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

  if (ticket) {
    // A round of Sluice's own: the decision stands as the call's first round made it.
    exchange.retry_of = ticket->approval_id;
    if (decision.action != policy::Action::require_approval) {
      approvals_.cancel(ticket->approval_id, "the policy no longer holds this call");
      strip_ticket(message, *ticket);
    }
  }
  switch (decision.action) {
    case policy::Action::allow: co_return Verdict::forward();
    case policy::Action::deny:
      co_return Verdict::answer(
          tool_result(exchange, "Denied by Sluice policy (" + rule_and_reason(decision) + ").", true));
    case policy::Action::dry_run: {
      if (mark_dry_run(exchange, tool)) co_return Verdict::forward();
      co_return Verdict::answer(tool_result(
          exchange,
          "DRY RUN: Sluice did not run this call (" + rule_and_reason(decision) + "). It would have called " +
              json_quoted(tool) + " with arguments " + arguments.dump() + ".",
          false));
    }
    case policy::Action::require_approval: co_return co_await hold(exchange, tool, arguments, ticket);
  }
  co_return Verdict::answer(tool_result(exchange, "Denied: Sluice reached an unknown decision.", true));
}

}  // namespace sluice::proxy
