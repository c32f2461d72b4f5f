// Decides what happens to a tools/call: namespace allowlist first, then the rules in
// order (first match wins), then policy.default; then the mode. Also explains why,
// rule by rule, for `sluice policy explain`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/config.h"
#include "policy/decision.h"
#include "policy/tool_catalog.h"

namespace sluice::policy {

struct ToolCall {
  std::string_view tool;
  const nlohmann::json& arguments;
  std::string_view upstream;
  std::string_view principal;
  std::string_view method = "tools/call";
};

struct RuleTrace {
  const Rule* rule = nullptr;
  bool matched = false;
  std::string why_not;  // empty when it matched
};

struct Explanation {
  Decision decision;
  std::vector<std::string> namespaces;
  std::vector<RuleTrace> rules;  // up to and including the one that decided
};

class PolicyEngine {
 public:
  explicit PolicyEngine(PolicyConfig policy) : policy_(std::move(policy)) {}

  // `takes_namespace`: the tool's schema has one of the namespace arguments, so a
  // call that names none acts on the namespace `default`.
  [[nodiscard]] Decision decide(const ToolCall& call, const Classification& classification,
                                bool takes_namespace) const;
  [[nodiscard]] Explanation explain(const ToolCall& call, const Classification& classification,
                                    bool takes_namespace) const;

  // Whether every call of this tool is denied, whatever its arguments: such tools
  // are removed from tools/list so that the model does not try them.
  [[nodiscard]] bool denies_outright(std::string_view tool, const Classification& classification,
                                     std::string_view upstream, std::string_view principal) const;

  [[nodiscard]] const PolicyConfig& config() const { return policy_; }

 private:
  Explanation evaluate(const ToolCall& call, const Classification& classification, bool takes_namespace,
                       bool trace) const;

  PolicyConfig policy_;
};

}  // namespace sluice::policy
