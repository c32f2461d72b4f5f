// What one policy decision costs: PolicyEngine::decide() for a 100-rule policy, with
// the matching rule at the start, in the middle and at the end, and the namespace
// allowlist on. Prints ns per decision beside the baseline of the same run: hashing
// the arguments alone, which every decision does.
//   sluice-bench-policy [--iterations N]
#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/digest.h"
#include "policy/config_loader.h"
#include "policy/engine.h"

namespace {

using sluice::policy::Classification;
using sluice::policy::PolicyEngine;
using sluice::policy::ToolCall;
using sluice::policy::ToolClass;

std::string hundred_rules() {
  std::string yaml =
      "policy:\n  default: require_approval\n  namespaces:\n    allow: [default, \"staging-*\", \"prod-*\"]\n  rules:\n";
  for (int i = 0; i < 100; ++i) {
    const auto n = std::to_string(i);
    switch (i % 4) {
      case 0: yaml += "    - { name: r" + n + ", match: { tool: \"svc" + n + "_*\" }, action: allow }\n"; break;
      case 1: yaml += "    - { name: r" + n + ", match: { class: destructive, tool: \"x" + n + "*\" }, action: deny }\n"; break;
      case 2:
        yaml += "    - { name: r" + n + ", match: { tool: \"deploy" + n + "\", args: { namespace: \"prod-*\", replicas: { in: [0, 1] } } }, action: require_approval }\n";
        break;
      default:
        yaml += "    - { name: r" + n + ", match: { tool: \"scale" + n + "\", args: { name: { regex: \"^web-\" } } }, action: dry_run }\n";
        break;
    }
  }
  return yaml;
}

template <class Work>
double nanoseconds_per_call(long iterations, Work work) {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) work();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(iterations);
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 200000;
  if (argc == 3 && std::string(argv[1]) == "--iterations") iterations = std::stol(argv[2]);
  const auto config = sluice::policy::load_config_text(hundred_rules(), "bench-100-rules.yaml");
  const PolicyEngine engine(config.policy);
  const nlohmann::json arguments = {{"namespace", "staging-eu"}, {"name", "web-frontend"}, {"replicas", 3}};
  const Classification mutate{ToolClass::mutate, "annotations", false};

  struct Case {
    const char* what;
    std::string tool;
  };
  const Case cases[] = {
      {"first rule matches", "svc0_list"},
      {"rule 51 of 100 matches", "svc52_list"},
      {"rule 100 of 100 matches", "scale99"},
      {"no rule matches (default)", "unknown_tool"},
  };
  volatile std::size_t sink = 0;
  const double hash_only = nanoseconds_per_call(iterations, [&] {
    sink = sink + sluice::mcp::sha256_hex(sluice::mcp::canonical_json(arguments)).size();
  });
  std::printf("| decision, 100-rule policy | ns per decision | baseline: argument hash alone | decision - baseline |\n");
  std::printf("|---|---:|---:|---:|\n");
  for (const auto& c : cases) {
    const ToolCall call{c.tool, arguments, "kube", "sre-agent"};
    const auto check = engine.decide(call, mutate, true);
    const double ns = nanoseconds_per_call(iterations, [&] { sink = sink + engine.decide(call, mutate, true).rule.size(); });
    std::printf("| %s (%s by %s) | %.0f | %.0f | %.0f |\n", c.what, std::string(sluice::policy::to_string(check.action)).c_str(),
                check.rule.c_str(), ns, hash_only, ns - hash_only);
  }
  return 0;
}
