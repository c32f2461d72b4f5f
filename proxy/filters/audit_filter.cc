#include "proxy/filters/audit_filter.h"

#include "mcp/error.h"
#include "policy/decision.h"

namespace sluice::proxy {
namespace {

using mcp::json;

// Sluice's own error: outside -32768..-32000, which MCP reserves.
constexpr std::size_t summary_chars = 200;
constexpr std::size_t redaction_window = 16 * 1024;
// Calls awaiting a retry of their input round, per session; past this the oldest
// is forgotten, and its retry is recorded as a call of its own.
constexpr std::size_t max_input_rounds = 256;

bool asks_for_input(const mcp::Message& response) {
  if (response.is_error_response()) return false;
  const auto& result = response.body()["result"];
  return result.is_object() && result.value("resultType", "") == "input_required";
}

void truncate_utf8(std::string& text, std::size_t limit) {
  if (text.size() <= limit) return;
  text.resize(limit);
  // Do not cut a UTF-8 sequence in half.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80) != 0) text.pop_back();
}

// What the log keeps of a result: whether it failed, and the start of its text.
// Redaction runs on a generous window before the cut, so that the cut cannot leave
// half a secret that redaction would no longer recognise.
json summarize(const json& result, const audit::Redactor& redactor, const std::vector<std::string>& secrets) {
  json summary = json::object();
  if (!result.is_object()) return summary;
  summary["isError"] = result.value("isError", false);
  std::string text;
  if (const auto content = result.find("content"); content != result.end() && content->is_array()) {
    for (const auto& block : *content) {
      if (block.is_object() && block.value("type", "") == "text" && block.contains("text") && block["text"].is_string()) {
        text += block["text"].get<std::string>();
      }
      if (text.size() >= redaction_window) break;
    }
  }
  truncate_utf8(text, redaction_window);
  auto redacted = redactor.redact_echoes(json(text), secrets).get<std::string>();
  truncate_utf8(redacted, summary_chars);
  summary["text"] = std::move(redacted);
  return summary;
}

}  // namespace

AuditFilter::AuditFilter(audit::AuditWriter& writer, const audit::Redactor& redactor, std::string upstream)
    : writer_(writer), redactor_(redactor), upstream_(std::move(upstream)) {}

audit::AuditEvent AuditFilter::event_for(const Exchange& exchange, std::string kind) const {
  audit::AuditEvent event;
  event.kind = std::move(kind);
  event.session = exchange.session.id();
  event.principal = exchange.session.principal();
  event.upstream = upstream_;
  event.direction = std::string(to_string(exchange.direction));
  event.method = std::string(exchange.message.method());
  event.id = exchange.message.id();
  return event;
}

asio::awaitable<Verdict> AuditFilter::on_message(Exchange& exchange) {
  const auto& message = exchange.message;
  // tools/call requests are recorded with their decision, in on_verdict.
  if (message.is_request() && message.method() == "tools/call") co_return Verdict::forward();
  if (exchange.direction == Direction::server_to_client && message.is_response()) {
    const auto found = calls_.find(mcp::id_key(message.id()));
    if (found != calls_.end() && asks_for_input(message)) {
      // Not the call's outcome yet: the client answers the upstream's questions and retries.
      if (input_rounds_.size() >= max_input_rounds) input_rounds_.erase(input_rounds_.begin());
      auto key = mcp::id_key(found->second.first_id);
      input_rounds_.insert_or_assign(std::move(key), std::move(found->second));
      calls_.erase(found);
      co_return Verdict::forward();
    }
    if (found != calls_.end()) {
      auto event = event_for(exchange, "outcome");
      event.method = "tools/call";
      event.tool = found->second.tool;
      event.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - found->second.started)
                             .count();
      event.result_size = static_cast<std::int64_t>(message.wire().size());
      if (message.is_error_response()) {
        // Sluice answers a request the upstream left unanswered (upstream.request_timeout).
        const auto& error = message.body()["error"];
        const auto code = error.is_object() ? error.find("code") : error.end();
        const bool timed_out = code != error.end() && code->is_number_integer() &&
                               *code == mcp::jsonrpc_code(mcp::Error::upstream_timeout);
        event.outcome = timed_out ? "timeout" : "jsonrpc_error";
        event.summary = redactor_.redact_echoes(message.body()["error"], found->second.secrets);
      } else {
        const auto& result = message.body()["result"];
        event.outcome = result.is_object() && result.value("isError", false) ? "tool_error" : "ok";
        event.summary = summarize(result, redactor_, found->second.secrets);
      }
      calls_.erase(found);
      writer_.record(std::move(event));
      co_return Verdict::forward();
    }
  }
  writer_.record(event_for(exchange, "message"));
  co_return Verdict::forward();
}

asio::awaitable<void> AuditFilter::on_verdict(Exchange& exchange, Verdict& verdict) {
  const auto& message = exchange.message;
  if (exchange.direction != Direction::client_to_server || !message.is_request() || message.method() != "tools/call") {
    co_return;
  }
  // Sluice asking again, in a round of its own, about a call it recorded in its first.
  if (exchange.retry_of && verdict.kind() == Verdict::Kind::answer && asks_for_input(verdict.response())) co_return;
  if (exchange.retry_of && verdict.kind() == Verdict::Kind::forward) {
    const auto round = input_rounds_.find(mcp::id_key(*exchange.retry_of));
    if (round != input_rounds_.end()) {
      calls_.insert_or_assign(mcp::id_key(message.id()), std::move(round->second));
      input_rounds_.erase(round);
      co_return;
    }
  }
  auto event = event_for(exchange, "decision");
  const auto& params = message.params();
  if (params.is_object() && params.contains("name") && params["name"].is_string()) {
    event.tool = params["name"].get<std::string>();
  }
  std::vector<std::string> secrets;
  if (params.is_object() && params.contains("arguments")) {
    event.arguments = redactor_.redact(params["arguments"], &secrets);
  }
  const bool refused = verdict.kind() == Verdict::Kind::answer && verdict.response().is_error_response();
  if (refused) event.detail = verdict.response().body()["error"].value("message", "");
  if (!exchange.decision) {
    // Refused before any decision (malformed, unknown tool, bad arguments, a forged approval).
    event.outcome = "refused";
    writer_.record(std::move(event));
    co_return;
  }
  const auto& decision = *exchange.decision;
  event.tool_class = std::string(policy::to_string(decision.tool_class));
  event.decision = std::string(policy::to_string(decision.action));
  event.policy_action = std::string(policy::to_string(decision.policy_action));
  event.rule = decision.rule;
  event.reason = decision.reason;
  event.arguments_hash = decision.arguments_hash;
  if (verdict.kind() != Verdict::Kind::forward) {
    // Answered by Sluice: nothing reaches the upstream, so nothing needs to wait.
    if (refused) event.outcome = "refused";
    writer_.record(std::move(event));
    co_return;
  }
  auto tool = event.tool;
  // The decision row must be durable before the upstream sees the call.
  const bool committed = co_await writer_.commit(std::move(event));
  if (!committed) {
    verdict = Verdict::answer(mcp::Message::error(message.id(), mcp::Error::audit_unavailable, writer_.last_error()));
    co_return;
  }
  calls_.insert_or_assign(mcp::id_key(message.id()),
                          CallInFlight{std::move(tool), std::chrono::steady_clock::now(), std::move(secrets),
                                       exchange.retry_of ? *exchange.retry_of : message.id()});
}

}  // namespace sluice::proxy
