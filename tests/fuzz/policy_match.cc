// Random calls against one fixed policy. The invariant: a call that is not a read is
// allowed only when the one allow rule for such calls matches it, as a plain reading
// of that rule (written here, independent of policy/glob.cc) says. The input is the
// call: a byte of flags, then tool, upstream, principal and method (UTF-8),
// NUL-separated, then the arguments as JSON.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mcp/message.h"
#include "policy/config_loader.h"
#include "policy/engine.h"
#include "tests/fuzz/bounded_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::policy;
using nlohmann::json;

constexpr std::string_view policy_yaml = R"(policy:
  mode: enforce
  default: require_approval
  namespaces:
    allow: ["dev-*", "staging"]
  rules:
    - name: no-deletes
      action: deny
      match:
        tool: ["delete_*", "*_delete"]
    - name: scale-dev
      action: allow
      match:
        tool: ["scale_*"]
        args:
          namespace: "dev-*"
          replicas: { in: [1, 2, 3] }
    - name: reads
      action: allow
      match:
        class: [read]
    - name: applies-are-rehearsed
      action: dry_run
      match:
        tool: [apply]
)";

const PolicyEngine& engine() {
  static const PolicyEngine instance(load_config_text(policy_yaml, "fuzz-policy.yaml").policy);
  return instance;
}

// scale-dev, read plainly: a tool starting "scale_" (whatever the method: the rule
// names none), a string namespace starting "dev-", replicas one of the numbers 1, 2, 3.
bool scale_dev_matches(std::string_view tool, const json& arguments) {
  if (!tool.starts_with("scale_") || !arguments.is_object()) return false;
  const auto ns = arguments.find("namespace");
  if (ns == arguments.end() || !ns->is_string() || !ns->get_ref<const std::string&>().starts_with("dev-")) {
    return false;
  }
  const auto replicas = arguments.find("replicas");
  return replicas != arguments.end() && (*replicas == 1 || *replicas == 2 || *replicas == 3);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::array<std::string_view, 4> fields;  // tool, upstream, principal, method
  for (auto& field : fields) {
    const auto end = rest.find('\0');
    if (end == std::string_view::npos) return 0;
    field = rest.substr(0, end);
    // Tool names and methods reach the engine from parsed JSON, upstream names and
    // principals from the configuration: all of it UTF-8 (both parsers refuse the rest).
    if (!sluice::mcp::is_utf8(field)) return 0;
    rest.remove_prefix(end + 1);
  }
  const auto arguments = parse_bounded_json(rest);
  if (!arguments || !arguments->is_object()) return 0;
  constexpr std::array<ToolClass, 4> classes = {ToolClass::read, ToolClass::mutate, ToolClass::destructive,
                                                ToolClass::changed};
  const Classification classification{classes[flags % 4], "fuzz", (flags & 4) != 0};
  const bool takes_namespace = (flags & 8) != 0;
  const std::string_view method = fields[3].empty() ? "tools/call" : fields[3];
  const ToolCall call{fields[0], *arguments, fields[1], fields[2], method};

  const auto decision = engine().decide(call, classification, takes_namespace);
  const auto explanation = engine().explain(call, classification, takes_namespace);
  FUZZ_CHECK(explanation.decision.action == decision.action && explanation.decision.rule == decision.rule);

  if (decision.action == Action::allow && classification.tool_class != ToolClass::read) {
    FUZZ_CHECK(!classification.changed);
    FUZZ_CHECK(decision.rule == "scale-dev");
    FUZZ_CHECK(scale_dev_matches(fields[0], *arguments));
  }
  // Whatever the class, the deny rule for deletes wins over every allow.
  if (fields[0].starts_with("delete_")) FUZZ_CHECK(decision.action != Action::allow);
  return 0;
}
