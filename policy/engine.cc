#include "policy/engine.h"

#include <algorithm>

#include "mcp/digest.h"
#include "mcp/message.h"
#include "policy/namespaces.h"

namespace sluice::policy {

using mcp::json_quoted;

namespace {

bool any_glob(const std::vector<Glob>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(), [&](const Glob& glob) { return glob.matches(text); });
}

std::string patterns(const std::vector<Glob>& globs) {
  std::string text;
  for (const auto& glob : globs) text += (text.empty() ? "" : ", ") + glob.pattern();
  return text;
}

// Deciding must not pay for explaining: without `explain`, a condition that fails
// says only "-" (short enough to need no allocation).
const std::string not_matched = "-";

// Conditions on who and what is called, leaving out the arguments. Empty when they
// hold, else why not.
std::string why_not_target(const Match& match, std::string_view tool, ToolClass tool_class, std::string_view method,
                           std::string_view upstream, std::string_view principal, bool explain) {
  if (!match.methods.empty() && !any_glob(match.methods, method)) {
    return explain ? "method " + json_quoted(method) + " does not match " + patterns(match.methods) : not_matched;
  }
  if (!match.tools.empty() && !any_glob(match.tools, tool)) {
    return explain ? "tool " + json_quoted(tool) + " does not match " + patterns(match.tools) : not_matched;
  }
  if (!match.classes.empty() &&
      std::find(match.classes.begin(), match.classes.end(), tool_class) == match.classes.end()) {
    if (!explain) return not_matched;
    std::string classes;
    for (const auto c : match.classes) classes += (classes.empty() ? "" : ", ") + std::string(to_string(c));
    return "class " + std::string(to_string(tool_class)) + " is not " + classes;
  }
  if (!match.upstreams.empty() && !any_glob(match.upstreams, upstream)) {
    return explain ? "upstream " + json_quoted(upstream) + " does not match " + patterns(match.upstreams) : not_matched;
  }
  if (!match.principals.empty() && !any_glob(match.principals, principal)) {
    return explain ? "principal " + json_quoted(principal) + " does not match " + patterns(match.principals)
                   : not_matched;
  }
  return {};
}

std::string why_not_arguments(const Match& match, const nlohmann::json& arguments, bool explain) {
  for (const auto& condition : match.arguments) {
    const auto* value = condition.path.find(arguments);
    if (!condition.matcher.matches(value)) {
      if (!explain) return not_matched;
      const auto shown = value == nullptr ? std::string("is absent") : "is " + value->dump();
      return "argument " + condition.path.text() + " " + shown + ", rule wants it " + condition.matcher.describe();
    }
  }
  return {};
}

}  // namespace

Explanation PolicyEngine::evaluate(const ToolCall& call, const Classification& classification,
                                   bool takes_namespace, bool trace) const {
  Explanation out;
  auto& decision = out.decision;
  decision.tool_class = classification.tool_class;
  decision.class_source = classification.source;
  decision.arguments_hash = mcp::sha256_hex(mcp::canonical_json(call.arguments));

  out.namespaces = namespaces_named(call.arguments, policy_.namespaces);
  if (out.namespaces.empty() && takes_namespace) out.namespaces.emplace_back("default");
  if (!out.namespaces.empty()) decision.kubernetes_namespace = out.namespaces.front();

  const auto decide = [&](Action action, std::string rule, std::string reason) {
    decision.policy_action = action;
    decision.action = action;
    decision.rule = std::move(rule);
    decision.reason = std::move(reason);
  };

  bool decided = false;
  if (!policy_.namespaces.allow.empty()) {
    for (const auto& ns : out.namespaces) {
      if (!any_glob(policy_.namespaces.allow, ns)) {
        const auto named = ns == every_namespace ? std::string("every namespace") : "namespace " + json_quoted(ns);
        decide(Action::deny, "namespaces", named + " is not in the allowlist (" + patterns(policy_.namespaces.allow) + ")");
        decision.kubernetes_namespace = ns;
        decided = true;
        break;
      }
    }
  }
  for (std::size_t i = 0; !decided && i < policy_.rules.size(); ++i) {
    const auto& rule = policy_.rules[i];
    auto why_not = why_not_target(rule.match, call.tool, classification.tool_class, call.method, call.upstream,
                                  call.principal, trace);
    if (why_not.empty()) why_not = why_not_arguments(rule.match, call.arguments, trace);
    const bool matched = why_not.empty();
    if (trace) out.rules.push_back({&rule, matched, std::move(why_not)});
    if (matched) {
      decide(rule.action, rule.name,
             rule.reason.empty() ? "no reason given" : rule.reason);
      decided = true;
    }
  }
  if (!decided) decide(policy_.default_action, "default", "no rule matched; policy.default applies");

  // The server changed the tool after it was reviewed: whatever allowed the old
  // definition does not vouch for the new one. Only a deny stands as it is.
  if (classification.changed && decision.policy_action != Action::deny) {
    decide(Action::require_approval, "pin",
           "the tool's definition changed since it was pinned; an operator must review and re-pin it");
  }

  if (policy_.mode == Mode::dry_run && classification.tool_class != ToolClass::read &&
      (decision.action == Action::allow || decision.action == Action::require_approval)) {
    decision.action = Action::dry_run;
    decision.reason += " (policy.mode is dry_run: nothing that is not a read reaches the upstream)";
  } else if (policy_.mode == Mode::monitor) {
    decision.action = Action::allow;
    decision.monitor_only = true;
  }
  return out;
}

Decision PolicyEngine::decide(const ToolCall& call, const Classification& classification, bool takes_namespace) const {
  return evaluate(call, classification, takes_namespace, false).decision;
}

Explanation PolicyEngine::explain(const ToolCall& call, const Classification& classification,
                                  bool takes_namespace) const {
  return evaluate(call, classification, takes_namespace, true);
}

bool PolicyEngine::denies_outright(std::string_view tool, const Classification& classification,
                                   std::string_view upstream, std::string_view principal) const {
  if (policy_.mode == Mode::monitor) return false;
  for (const auto& rule : policy_.rules) {
    if (!why_not_target(rule.match, tool, classification.tool_class, "tools/call", upstream, principal, false).empty()) {
      continue;
    }
    // A rule with argument conditions decides only some calls; a deny among them
    // still leaves the others to later rules.
    if (rule.match.arguments.empty()) return rule.action == Action::deny;
    if (rule.action != Action::deny) return false;
  }
  return policy_.default_action == Action::deny;
}

}  // namespace sluice::policy
