#include "policy/engine.h"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mcp/digest.h"
#include "policy/config_loader.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {

using Catch::Matchers::Contains;

PolicyEngine engine_from(const std::string& yaml) {
  return PolicyEngine(load_config_text(yaml, "sluice.yaml").policy);
}

Classification as(ToolClass tool_class) { return {tool_class, "annotations"}; }

Decision decide(const PolicyEngine& engine, std::string_view tool, ToolClass tool_class,
                const json& arguments = json::object(), bool takes_namespace = false) {
  return engine.decide({tool, arguments, "kube", "alice"}, as(tool_class), takes_namespace);
}

TEST_CASE("the first rule that matches decides, so the order of the rules matters") {
  const std::string allow_deployments =
      "    - { name: deployments, match: { tool: \"deployments_*\" }, action: allow }\n";
  const std::string deny_scaling =
      "    - { name: no-scaling, match: { tool: \"*_scale\" }, action: deny, reason: no scaling }\n";

  SECTION("allow first") {
    const auto engine = engine_from("policy:\n  rules:\n" + allow_deployments + deny_scaling);
    const auto decision = decide(engine, "deployments_scale", ToolClass::mutate);
    CHECK(decision.action == Action::allow);
    CHECK(decision.rule == "deployments");
  }
  SECTION("deny first") {
    const auto engine = engine_from("policy:\n  rules:\n" + deny_scaling + allow_deployments);
    const auto decision = decide(engine, "deployments_scale", ToolClass::mutate);
    CHECK(decision.action == Action::deny);
    CHECK(decision.rule == "no-scaling");
    CHECK(decision.reason == "no scaling");
  }
}

TEST_CASE("a rule matches only when every condition it gives holds") {
  const auto engine = engine_from(R"(policy:
  default: deny
  rules:
    - name: r
      match:
        tool: ["pods_*", "deployments_get"]
        class: [read, mutate]
        method: "tools/*"
        upstream: "kube*"
        principal: ["sre-*", alice]
        args: { namespace: "team-*" }
      action: allow
)");
  const json good_args = {{"namespace", "team-a"}};
  const auto call = [&](std::string_view tool, ToolClass tool_class, std::string_view upstream,
                        std::string_view principal, std::string_view method, const json& arguments) {
    return engine.decide({tool, arguments, upstream, principal, method}, as(tool_class), false).rule;
  };

  CHECK(call("pods_list", ToolClass::read, "kube", "alice", "tools/call", good_args) == "r");
  CHECK(call("deployments_get", ToolClass::mutate, "kube-2", "sre-bob", "tools/call", good_args) == "r");
  SECTION("tool") {
    CHECK(call("secrets_get", ToolClass::read, "kube", "alice", "tools/call", good_args) == "default");
  }
  SECTION("class") {
    CHECK(call("pods_list", ToolClass::destructive, "kube", "alice", "tools/call", good_args) == "default");
  }
  SECTION("method") {
    CHECK(call("pods_list", ToolClass::read, "kube", "alice", "resources/read", good_args) == "default");
  }
  SECTION("upstream") {
    CHECK(call("pods_list", ToolClass::read, "github", "alice", "tools/call", good_args) == "default");
  }
  SECTION("principal") {
    CHECK(call("pods_list", ToolClass::read, "kube", "mallory", "tools/call", good_args) == "default");
  }
  SECTION("arguments") {
    CHECK(call("pods_list", ToolClass::read, "kube", "alice", "tools/call", {{"namespace", "prod"}}) ==
          "default");
    CHECK(call("pods_list", ToolClass::read, "kube", "alice", "tools/call", json::object()) == "default");
  }
}

TEST_CASE("a rule matches a changed tool only when it names the class changed") {
  const auto engine = engine_from(R"(policy:
  rules:
    - { name: any-tool, match: { tool: "*", class: [read, mutate, destructive] }, action: allow }
    - { name: changed, match: { class: changed }, action: deny }
)");
  CHECK(decide(engine, "pods_list", ToolClass::changed).rule == "changed");
  CHECK(decide(engine, "pods_list", ToolClass::read).rule == "any-tool");
}

TEST_CASE("a call that no rule matches gets policy.default") {
  const auto action = GENERATE(Action::allow, Action::deny, Action::dry_run, Action::require_approval);
  CAPTURE(to_string(action));
  const auto engine =
      engine_from("policy:\n  default: " + std::string(to_string(action)) +
                  "\n  rules:\n    - { name: reads, match: { class: read }, action: allow }\n");
  const auto decision = decide(engine, "deployments_scale", ToolClass::mutate);
  CHECK(decision.action == action);
  CHECK(decision.policy_action == action);
  CHECK(decision.rule == "default");
  CHECK(decision.reason == "no rule matched; policy.default applies");
}

TEST_CASE("the namespace allowlist denies a call before any rule is consulted") {
  const auto engine = engine_from(R"(policy:
  namespaces: { allow: [default, "staging-*"] }
  rules:
    - { name: everything, match: {}, action: allow }
)");
  SECTION("a namespace outside the list") {
    const auto decision = decide(engine, "pods_list", ToolClass::read, {{"namespace", "prod"}});
    CHECK(decision.action == Action::deny);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.reason == "namespace \"prod\" is not in the allowlist (default, staging-*)");
    CHECK(decision.kubernetes_namespace == "prod");
  }
  SECTION("a namespace in the list") {
    const auto decision = decide(engine, "pods_list", ToolClass::read, {{"namespace", "staging-eu"}});
    CHECK(decision.action == Action::allow);
    CHECK(decision.rule == "everything");
    CHECK(decision.kubernetes_namespace == "staging-eu");
  }
  SECTION("explain shows no rules for a call the allowlist denied") {
    const json arguments = {{"namespace", "prod"}};
    const auto explanation =
        engine.explain({"pods_list", arguments, "kube", "alice"}, as(ToolClass::read), false);
    CHECK(explanation.decision.rule == "namespaces");
    CHECK(explanation.rules.empty());
    CHECK(explanation.namespaces == std::vector<std::string>{"prod"});
  }
}

TEST_CASE("a call across all namespaces names every namespace, not the default one") {
  const json everywhere = {{"allNamespaces", true}};
  SECTION("an allowlist that admits default does not admit it") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [default] }\n  default: allow\n");
    const auto decision = decide(engine, "pods_list", ToolClass::read, everywhere, true);
    CHECK(decision.action == Action::deny);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.reason == "every namespace is not in the allowlist (default)");
  }
  SECTION("an allowlist that admits any name does") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [\"*\"] }\n  default: allow\n");
    CHECK(decide(engine, "pods_list", ToolClass::read, everywhere, true).action == Action::allow);
  }
  SECTION("false is the flag's absence") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [default] }\n  default: allow\n");
    CHECK(decide(engine, "pods_list", ToolClass::read, {{"allNamespaces", false}}, true).action == Action::allow);
  }
  SECTION("the operator names the flags") {
    const auto engine =
        engine_from("policy:\n  namespaces: { allow: [default], all_namespaces: [all] }\n  default: allow\n");
    CHECK(decide(engine, "pods_list", ToolClass::read, {{"all", true}}, true).action == Action::deny);
    CHECK(decide(engine, "pods_list", ToolClass::read, everywhere, true).action == Action::allow);
  }
}

TEST_CASE("a tool that takes a namespace but is given none acts on the namespace default") {
  const json no_namespace = {{"name", "web"}};
  SECTION("allowed when default is in the allowlist") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [default] }\n  default: allow\n");
    const auto decision = decide(engine, "pods_list", ToolClass::read, no_namespace, true);
    CHECK(decision.action == Action::allow);
    CHECK(decision.kubernetes_namespace == "default");
  }
  SECTION("denied when it is not") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [\"staging-*\"] }\n  default: allow\n");
    const auto decision = decide(engine, "pods_list", ToolClass::read, no_namespace, true);
    CHECK(decision.action == Action::deny);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.kubernetes_namespace == "default");
  }
  SECTION("a tool that takes no namespace is not held to the allowlist") {
    const auto engine = engine_from("policy:\n  namespaces: { allow: [\"staging-*\"] }\n  default: allow\n");
    const auto decision = decide(engine, "nodes_list", ToolClass::read, no_namespace, false);
    CHECK(decision.action == Action::allow);
    CHECK_FALSE(decision.kubernetes_namespace.has_value());
  }
}

TEST_CASE("every namespace a manifest names must be allowed") {
  const auto engine = engine_from("policy:\n  namespaces: { allow: [\"team-*\"] }\n  default: allow\n");
  SECTION("a manifest object") {
    const json arguments = {{"manifest", {{"metadata", {{"namespace", "kube-system"}}}}}};
    const auto decision = decide(engine, "resources_apply", ToolClass::mutate, arguments, true);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.kubernetes_namespace == "kube-system");
  }
  SECTION("YAML text with several documents, one of them outside the list") {
    const json arguments = {{"yaml",
                             "metadata:\n  namespace: team-a\n---\nmetadata:\n  namespace: prod\n---\n"
                             "metadata:\n  namespace: team-b\n"}};
    const auto decision = decide(engine, "resources_apply", ToolClass::mutate, arguments, true);
    CHECK(decision.action == Action::deny);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.kubernetes_namespace == "prod");
    CHECK_THAT(decision.reason, Contains("\"prod\""));
  }
  SECTION("YAML text whose documents are all inside the list") {
    const json arguments = {
        {"yaml", "metadata:\n  namespace: team-a\n---\nmetadata:\n  namespace: team-b\n"}};
    const auto decision = decide(engine, "resources_apply", ToolClass::mutate, arguments, true);
    CHECK(decision.action == Action::allow);
    CHECK(decision.kubernetes_namespace == "team-a");
  }
}

TEST_CASE("in dry_run mode nothing that is not a read is allowed to reach the upstream") {
  const auto engine = engine_from(R"(policy:
  mode: dry_run
  default: allow
  rules:
    - { name: no-deletes, match: { tool: "*_delete" }, action: deny }
    - { name: held, match: { tool: "*_scale" }, action: require_approval }
    - { name: previews, match: { tool: "*_preview" }, action: dry_run }
)");
  SECTION("allowed non-reads are dry-run") {
    const auto tool_class = GENERATE(ToolClass::mutate, ToolClass::destructive, ToolClass::changed);
    const auto decision = decide(engine, "deployments_restart", tool_class);
    CHECK(decision.action == Action::dry_run);
    CHECK(decision.policy_action == Action::allow);
    CHECK(decision.rule == "default");
    CHECK_THAT(decision.reason, Contains("policy.mode is dry_run"));
  }
  SECTION("non-reads that need approval are dry-run") {
    const auto decision = decide(engine, "deployments_scale", ToolClass::mutate);
    CHECK(decision.action == Action::dry_run);
    CHECK(decision.policy_action == Action::require_approval);
    CHECK(decision.rule == "held");
  }
  SECTION("reads stay allowed") {
    const auto decision = decide(engine, "pods_list", ToolClass::read);
    CHECK(decision.action == Action::allow);
    CHECK_THAT(decision.reason, !Contains("dry_run"));
  }
  SECTION("denials stay denials") {
    CHECK(decide(engine, "pods_delete", ToolClass::destructive).action == Action::deny);
    CHECK(decide(engine, "pods_delete", ToolClass::read).action == Action::deny);
  }
  SECTION("dry_run stays dry_run") {
    CHECK(decide(engine, "x_preview", ToolClass::mutate).action == Action::dry_run);
  }
  CHECK_FALSE(decide(engine, "deployments_restart", ToolClass::mutate).monitor_only);
}

TEST_CASE("in monitor mode every call is forwarded and the would-be decision recorded") {
  const auto engine = engine_from(R"(policy:
  mode: monitor
  namespaces: { allow: [default] }
  rules:
    - { name: no-deletes, match: { tool: "*_delete" }, action: deny, reason: "no deletes" }
)");
  SECTION("a denied call") {
    const auto decision = decide(engine, "pods_delete", ToolClass::destructive);
    CHECK(decision.action == Action::allow);
    CHECK(decision.policy_action == Action::deny);
    CHECK(decision.rule == "no-deletes");
    CHECK(decision.reason == "no deletes");
    CHECK(decision.monitor_only);
  }
  SECTION("a call outside the namespace allowlist") {
    const auto decision = decide(engine, "pods_list", ToolClass::read, {{"namespace", "prod"}});
    CHECK(decision.action == Action::allow);
    CHECK(decision.policy_action == Action::deny);
    CHECK(decision.rule == "namespaces");
    CHECK(decision.monitor_only);
  }
  SECTION("a call that would need approval") {
    const auto decision = decide(engine, "pods_exec", ToolClass::mutate);
    CHECK(decision.action == Action::allow);
    CHECK(decision.policy_action == Action::require_approval);
    CHECK(decision.rule == "default");
    CHECK(decision.monitor_only);
  }
}

TEST_CASE("in enforce mode the action is the policy's action") {
  const auto engine = engine_from("policy:\n  default: deny\n");
  const auto decision = decide(engine, "pods_exec", ToolClass::mutate);
  CHECK(decision.action == Action::deny);
  CHECK(decision.policy_action == Action::deny);
  CHECK_FALSE(decision.monitor_only);
}

TEST_CASE("the decision carries the tool's class and where it came from") {
  const auto engine = engine_from("policy:\n  default: deny\n");
  const json arguments = json::object();
  const auto decision =
      engine.decide({"x", arguments, "kube", "alice"}, {ToolClass::destructive, "policy.tools"}, false);
  CHECK(decision.tool_class == ToolClass::destructive);
  CHECK(decision.class_source == "policy.tools");
}

TEST_CASE("the arguments hash is the SHA-256 of the arguments' canonical JSON") {
  const auto engine = engine_from("policy:\n  default: deny\n");
  const auto hash_of = [&](const std::string& arguments_text) {
    return decide(engine, "x", ToolClass::mutate, json::parse(arguments_text)).arguments_hash;
  };
  // Canonical: keys sorted, no whitespace.
  const auto expected = mcp::sha256_hex(R"({"a":[1,{"c":true,"d":null}],"b":"two"})");

  CHECK(hash_of(R"({"b": "two", "a": [1, {"d": null, "c": true}]})") == expected);
  CHECK(hash_of(R"({"a":[1,{"c":true,"d":null}],"b":"two"})") == expected);
  SECTION("and differs for different arguments") {
    CHECK(hash_of(R"({"a":[{"c":true,"d":null},1],"b":"two"})") != expected);
    CHECK(hash_of(R"({"a":[1,{"c":true,"d":null}],"b":"two "})") != expected);
  }
  SECTION("no arguments hash as the empty object") {
    CHECK(hash_of("{}") == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  }
}

TEST_CASE("an explanation lists each rule up to the one that decided, with why the others did not match") {
  const auto engine = engine_from(R"(policy:
  rules:
    - { name: by-tool, match: { tool: "pods_*" }, action: allow }
    - { name: by-class, match: { class: [read, destructive] }, action: allow }
    - { name: by-method, match: { method: "resources/*" }, action: allow }
    - { name: by-upstream, match: { upstream: github }, action: allow }
    - { name: by-principal, match: { principal: "sre-*" }, action: allow }
    - { name: by-arg, match: { args: { replicas: 0 } }, action: deny }
    - { name: by-absent-arg, match: { args: { namespace: "prod-*" } }, action: deny }
    - { name: scale, match: { tool: deployments_scale }, action: require_approval }
    - { name: never-reached, match: {}, action: allow }
)");
  const json arguments = {{"replicas", 3}};
  const auto explanation =
      engine.explain({"deployments_scale", arguments, "kube", "alice"}, as(ToolClass::mutate), false);

  CHECK(explanation.decision.rule == "scale");
  CHECK(explanation.decision.action == Action::require_approval);
  REQUIRE(explanation.rules.size() == 8);
  const std::vector<std::string> why_not = {
      "tool \"deployments_scale\" does not match pods_*",
      "class mutate is not read, destructive",
      "method \"tools/call\" does not match resources/*",
      "upstream \"kube\" does not match github",
      "principal \"alice\" does not match sre-*",
      "argument replicas is 3, rule wants it equals 0",
      "argument namespace is absent, rule wants it matches \"prod-*\"",
  };
  const auto& rules = engine.config().rules;
  for (std::size_t i = 0; i < why_not.size(); ++i) {
    CAPTURE(i);
    CHECK(explanation.rules[i].rule == &rules[i]);
    CHECK_FALSE(explanation.rules[i].matched);
    CHECK(explanation.rules[i].why_not == why_not[i]);
  }
  CHECK(explanation.rules[7].rule == &rules[7]);
  CHECK(explanation.rules[7].matched);
  CHECK(explanation.rules[7].why_not.empty());

  SECTION("and every rule when none matched") {
    const auto none = engine_from(
        "policy:\n  rules:\n    - { name: a, match: { tool: a }, action: allow }\n"
        "    - { name: b, match: { tool: b }, action: allow }\n");
    const auto all = none.explain({"c", arguments, "kube", "alice"}, as(ToolClass::mutate), false);
    CHECK(all.decision.rule == "default");
    REQUIRE(all.rules.size() == 2);
    CHECK_FALSE(all.rules[0].matched);
    CHECK_FALSE(all.rules[1].matched);
  }
  SECTION("and it decides as decide() does") {
    const auto decision =
        engine.decide({"deployments_scale", arguments, "kube", "alice"}, as(ToolClass::mutate), false);
    CHECK(decision.rule == explanation.decision.rule);
    CHECK(decision.action == explanation.decision.action);
    CHECK(decision.reason == explanation.decision.reason);
  }
}

TEST_CASE("a tool is denied outright only when no call of it could be decided otherwise") {
  const auto outright = [](const std::string& yaml, std::string_view tool,
                           ToolClass tool_class = ToolClass::mutate) {
    return engine_from(yaml).denies_outright(tool, as(tool_class), "kube", "alice");
  };
  SECTION("an unconditional deny rule") {
    CHECK(outright("policy:\n  rules:\n    - { name: d, match: { tool: \"*_delete\" }, action: deny }\n",
                   "pods_delete"));
  }
  SECTION("an earlier allow rule for the tool with argument conditions") {
    CHECK_FALSE(
        outright("policy:\n  rules:\n    - { name: a, match: { tool: pods_delete, args: { namespace: dev } "
                 "}, action: allow }\n"
                 "    - { name: d, match: { tool: \"*_delete\" }, action: deny }\n",
                 "pods_delete"));
  }
  SECTION("an earlier deny rule with argument conditions, then an unconditional deny") {
    CHECK(
        outright("policy:\n  rules:\n    - { name: a, match: { tool: pods_delete, args: { namespace: dev } "
                 "}, action: deny }\n"
                 "    - { name: d, match: { tool: \"*_delete\" }, action: deny }\n",
                 "pods_delete"));
  }
  SECTION("an earlier unconditional allow for the tool") {
    CHECK_FALSE(
        outright("policy:\n  rules:\n    - { name: a, match: { tool: pods_delete }, action: allow }\n"
                 "    - { name: d, match: { tool: \"*_delete\" }, action: deny }\n",
                 "pods_delete"));
  }
  SECTION("rules for other tools, classes, upstreams or principals do not count") {
    CHECK(outright(
        "policy:\n  default: deny\n  rules:\n    - { name: a, match: { tool: other }, action: allow }\n"
        "    - { name: b, match: { class: read }, action: allow }\n"
        "    - { name: c, match: { upstream: github }, action: allow }\n"
        "    - { name: e, match: { principal: bob }, action: allow }\n"
        "    - { name: f, match: { method: \"resources/*\" }, action: allow }\n",
        "pods_delete"));
  }
  SECTION("a deny by default when no rule matches") {
    CHECK(outright("policy:\n  default: deny\n  rules: []\n", "pods_delete"));
    CHECK_FALSE(outright("policy:\n  default: require_approval\n  rules: []\n", "pods_delete"));
  }
  SECTION("never in monitor mode") {
    CHECK_FALSE(outright(
        "policy:\n  mode: monitor\n  default: deny\n  rules:\n    - { name: d, match: {}, action: deny }\n",
        "pods_delete"));
  }
  SECTION("still in dry_run mode") {
    CHECK(outright(
        "policy:\n  mode: dry_run\n  rules:\n    - { name: d, match: { tool: pods_delete }, action: deny }\n",
        "pods_delete"));
  }
}

}  // namespace
}  // namespace sluice::policy
