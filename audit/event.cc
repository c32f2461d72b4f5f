#include "audit/event.h"

#include <charconv>
#include <string_view>
#include <utility>

#include "mcp/digest.h"

namespace sluice::audit {
namespace {

// Appends `key` and `value` to a record being written as canonical JSON (mcp/digest.h):
// its keys in bytewise order, each once. Building the text straight from the event,
// rather than a nlohmann::json object of it to serialize, spares every row copies of
// its strings and a tree of allocations; the writer writes two rows per call.
class RecordText {
 public:
  explicit RecordText(std::size_t reserve) {
    out_.reserve(reserve);
    out_ += '{';
  }

  void field(std::string_view key, const std::string& value) {
    start(key);
    string(value);
  }
  // Left out when empty.
  void text(std::string_view key, const std::string& value) {
    if (!value.empty()) field(key, value);
  }
  // Left out when null.
  void value(std::string_view key, const nlohmann::json& value) {
    if (value.is_null()) return;
    start(key);
    out_ += mcp::canonical_json(value);
  }
  // Left out when negative (not measured).
  void number(std::string_view key, std::int64_t value) {
    if (value < 0) return;
    start(key);
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out_.append(digits, end);
  }
  std::string take() && {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void start(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += key;  // the keys are ours: nothing to escape
    out_ += "\":";
  }
  void string(const std::string& value) {
    // Printable ASCII without quotes or backslashes is its own JSON text. Anything
    // else (escapes, UTF-8 to check, invalid bytes to replace) is left to
    // canonical_json, so that the two forms cannot differ.
    for (const char c : value) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte >= 0x80 || c == '"' || c == '\\') {
        out_ += mcp::canonical_json(nlohmann::json(value));
        return;
      }
    }
    out_ += '"';
    out_ += value;
    out_ += '"';
  }

  std::string out_;
};

}  // namespace

std::string record_text(const AuditEvent& event, std::int64_t seq, const std::string& time) {
  // In the bytewise order of the keys.
  RecordText record(512);
  record.text("approval_id", event.approval_id);
  record.value("arguments", event.arguments);
  record.text("arguments_hash", event.arguments_hash);
  record.text("class", event.tool_class);
  record.value("data", event.data);
  record.text("decision", event.decision);
  record.text("detail", event.detail);
  record.text("direction", event.direction);
  record.value("id", event.id);
  record.field("kind", event.kind);
  record.number("latency_us", event.latency_us);
  record.text("method", event.method);
  record.text("outcome", event.outcome);
  record.text("policy_action", event.policy_action);
  record.text("principal", event.principal);
  record.text("reason", event.reason);
  record.number("result_size", event.result_size);
  record.text("rule", event.rule);
  record.number("seq", seq);
  record.text("session", event.session);
  record.value("summary", event.summary);
  record.field("time", time);
  record.text("tool", event.tool);
  record.text("upstream", event.upstream);
  return std::move(record).take();
}

}  // namespace sluice::audit
