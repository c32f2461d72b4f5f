#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config.h"
#include "policy/engine.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {


Decision decide_by_default(std::string_view tool, ToolClass tool_class, const json& arguments) {
  const PolicyEngine engine(default_config().policy);
  return engine.decide({tool, arguments, "kube", "alice"}, {tool_class, "annotations"}, true);
}

TEST_CASE("with no configuration, reads are allowed by the rule reads") {
  const json arguments = {{"namespace", "kube-system"}};
  const auto decision = decide_by_default("pods_list", ToolClass::read, arguments);
  CHECK(decision.action == Action::allow);
  CHECK(decision.rule == "reads");
  CHECK_FALSE(decision.monitor_only);
}

TEST_CASE("with no configuration, everything that is not a read requires approval") {
  const auto tool_class = GENERATE(ToolClass::mutate, ToolClass::destructive, ToolClass::changed);
  CAPTURE(to_string(tool_class));
  const json arguments = {{"name", "web"}, {"replicas", 3}};
  const auto decision = decide_by_default("deployments_scale", tool_class, arguments);
  CHECK(decision.action == Action::require_approval);
  CHECK(decision.rule == "default");
}

TEST_CASE("with no configuration, every namespace is allowed and recorded") {
  SECTION("a top-level namespace argument") {
    const json arguments = {{"namespace", "prod"}};
    const auto decision = decide_by_default("pods_list", ToolClass::read, arguments);
    CHECK(decision.action == Action::allow);
    CHECK(decision.kubernetes_namespace == "prod");
  }
  SECTION("a namespace in a manifest's metadata") {
    const json arguments = {{"metadata", {{"namespace", "kube-system"}}}};
    const auto decision = decide_by_default("resources_apply", ToolClass::mutate, arguments);
    CHECK(decision.rule == "default");
    CHECK(decision.kubernetes_namespace == "kube-system");
  }
}

TEST_CASE("the default configuration is enforcing, pinned, and names its source") {
  const auto config = default_config();
  CHECK(config.source == "built-in default");
  CHECK(config.policy.mode == Mode::enforce);
  CHECK(config.policy.default_action == Action::require_approval);
  CHECK(config.policy.annotations == AnnotationTrust::pinned);
  CHECK(config.policy.namespaces.allow.empty());
  CHECK(config.policy.tools.empty());
}

}  // namespace
}  // namespace sluice::policy
