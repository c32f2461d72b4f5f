#include "audit/event.h"

namespace sluice::audit {

nlohmann::json to_record(const AuditEvent& event, std::int64_t seq, const std::string& time) {
  nlohmann::json record = {{"seq", seq}, {"time", time}, {"kind", event.kind}};
  const auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) record[key] = value;
  };
  text("session", event.session);
  text("principal", event.principal);
  text("upstream", event.upstream);
  text("direction", event.direction);
  text("method", event.method);
  if (!event.id.is_null()) record["id"] = event.id;
  text("tool", event.tool);
  text("class", event.tool_class);
  text("decision", event.decision);
  text("policy_action", event.policy_action);
  text("rule", event.rule);
  text("reason", event.reason);
  text("approval_id", event.approval_id);
  text("arguments_hash", event.arguments_hash);
  if (!event.arguments.is_null()) record["arguments"] = event.arguments;
  text("outcome", event.outcome);
  if (event.result_size >= 0) record["result_size"] = event.result_size;
  if (!event.summary.is_null()) record["summary"] = event.summary;
  if (event.latency_us >= 0) record["latency_us"] = event.latency_us;
  text("detail", event.detail);
  if (!event.data.is_null()) record["data"] = event.data;
  return record;
}

}  // namespace sluice::audit
