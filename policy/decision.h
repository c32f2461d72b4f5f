// What the policy decides about one tools/call, and everything the audit log and the
// approval queue need to know about that decision.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::policy {

enum class Action { allow, deny, dry_run, require_approval };

// How much harm a tool can do. `changed` is a tool whose definition differs from the
// one pinned when it was first seen (or that appeared later): nothing about it is
// trusted until an operator re-pins it.
enum class ToolClass { read, mutate, destructive, changed };

enum class Mode { enforce, dry_run, monitor };

std::string_view to_string(Action action);
std::string_view to_string(ToolClass tool_class);
std::string_view to_string(Mode mode);
std::optional<Action> parse_action(std::string_view text);
std::optional<ToolClass> parse_tool_class(std::string_view text);
std::optional<Mode> parse_mode(std::string_view text);

struct Decision {
  // What Sluice does. In monitor mode this is `allow` and `policy_action` is what
  // enforcement would have done.
  Action action = Action::deny;
  Action policy_action = Action::deny;
  // What decided: a rule's name, or "namespaces" (the allowlist), "pin" (a changed
  // tool), "default" (policy.default).
  std::string rule;
  std::string reason;
  ToolClass tool_class = ToolClass::mutate;
  // Where the classification came from: "policy.tools", "annotations", "pin", "default".
  std::string class_source;
  // The Kubernetes namespace the call names, if the tool takes one.
  std::optional<std::string> kubernetes_namespace;
  // SHA-256 (hex) of the canonical JSON of the real, unredacted arguments: binds an
  // approval to exactly these arguments without storing them.
  std::string arguments_hash;
  bool monitor_only = false;
};

}  // namespace sluice::policy
