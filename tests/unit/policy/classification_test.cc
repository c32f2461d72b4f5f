#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config_loader.h"
#include "policy/pin_store.h"
#include "policy/tool_catalog.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {


PolicyConfig policy_with(AnnotationTrust trust) {
  PolicyConfig policy;
  policy.annotations = trust;
  return policy;
}

json tool_with_annotations(const json& annotations) {
  return {{"name", "t"},
          {"description", "a tool"},
          {"inputSchema", {{"type", "object"}}},
          {"annotations", annotations}};
}

TEST_CASE("the operator's classification wins over the server's annotations") {
  auto policy = load_config_text("policy:\n  tools: { t: mutate, r: read }\n", "sluice.yaml").policy;
  const auto read_only = tool_with_annotations({{"readOnlyHint", true}});
  const auto destructive = tool_with_annotations({{"destructiveHint", true}});

  const auto trust = GENERATE(AnnotationTrust::trust, AnnotationTrust::pinned, AnnotationTrust::ignore);
  CAPTURE(to_string(trust));
  policy.annotations = trust;

  SECTION("a tool that claims to read is a mutation when the operator says so") {
    const auto c = classify("t", &read_only, false, policy);
    CHECK(c.tool_class == ToolClass::mutate);
    CHECK(c.source == "policy.tools");
  }
  SECTION("a tool that claims to destroy is a read when the operator says so") {
    const auto c = classify("r", &destructive, false, policy);
    CHECK(c.tool_class == ToolClass::read);
    CHECK(c.source == "policy.tools");
  }
  SECTION("even when pinning flagged the tool as changed") {
    const auto c = classify("r", &destructive, true, policy);
    CHECK(c.tool_class == ToolClass::read);
    CHECK(c.source == "policy.tools");
  }
  SECTION("even when the tool is not known") {
    CHECK(classify("r", nullptr, false, policy).tool_class == ToolClass::read);
  }
}

TEST_CASE("trusted annotations classify a tool, with MCP's defaults for hints left out") {
  const auto trust = GENERATE(AnnotationTrust::trust, AnnotationTrust::pinned);
  CAPTURE(to_string(trust));
  const auto policy = policy_with(trust);
  const auto class_of = [&](const json& annotations) {
    const auto tool = tool_with_annotations(annotations);
    const auto c = classify("t", &tool, false, policy);
    CHECK(c.source == "annotations");
    return c.tool_class;
  };

  SECTION("readOnlyHint true is a read, whatever destructiveHint says") {
    CHECK(class_of({{"readOnlyHint", true}}) == ToolClass::read);
    CHECK(class_of({{"readOnlyHint", true}, {"destructiveHint", true}}) == ToolClass::read);
  }
  SECTION("destructiveHint false is a mutation") {
    CHECK(class_of({{"destructiveHint", false}}) == ToolClass::mutate);
    CHECK(class_of({{"readOnlyHint", false}, {"destructiveHint", false}}) == ToolClass::mutate);
  }
  SECTION("an empty annotations object is destructive") {
    CHECK(class_of(json::object()) == ToolClass::destructive);
  }
  SECTION("readOnlyHint false alone is destructive") {
    CHECK(class_of({{"readOnlyHint", false}}) == ToolClass::destructive);
  }
  SECTION("other hints do not make a tool safer") {
    CHECK(class_of({{"idempotentHint", true}, {"openWorldHint", false}, {"title", "Read pods"}}) ==
          ToolClass::destructive);
  }
  SECTION("hints that are not booleans count as absent") {
    CHECK(class_of({{"readOnlyHint", "true"}}) == ToolClass::destructive);
    CHECK(class_of({{"readOnlyHint", 1}, {"destructiveHint", "false"}}) == ToolClass::destructive);
    CHECK(class_of({{"destructiveHint", nullptr}}) == ToolClass::destructive);
  }
}

TEST_CASE("a tool without an annotations object is a mutation by default") {
  const auto policy = policy_with(AnnotationTrust::trust);
  SECTION("no annotations key") {
    const json tool = {{"name", "t"}, {"inputSchema", {{"type", "object"}}}};
    const auto c = classify("t", &tool, false, policy);
    CHECK(c.tool_class == ToolClass::mutate);
    CHECK(c.source == "default");
  }
  SECTION("annotations that are not an object") {
    const auto tool = tool_with_annotations(json::array({"readOnlyHint"}));
    CHECK(classify("t", &tool, false, policy).tool_class == ToolClass::mutate);
  }
}

TEST_CASE("with annotations ignored, hints do not change a tool's class") {
  const auto policy = policy_with(AnnotationTrust::ignore);
  const auto read_only = tool_with_annotations({{"readOnlyHint", true}});
  const auto c = classify("t", &read_only, false, policy);
  CHECK(c.tool_class == ToolClass::mutate);
  CHECK(c.source == "default");
  SECTION("and a changed definition is not flagged") {
    CHECK(classify("t", &read_only, true, policy).tool_class == ToolClass::mutate);
  }
}

TEST_CASE("a changed tool is class changed when pinned, and classified by its annotations when trusted") {
  const auto read_only = tool_with_annotations({{"readOnlyHint", true}});
  SECTION("pinned") {
    const auto c = classify("t", &read_only, true, policy_with(AnnotationTrust::pinned));
    CHECK(c.tool_class == ToolClass::changed);
    CHECK(c.source == "pin");
  }
  SECTION("trust") {
    const auto c = classify("t", &read_only, true, policy_with(AnnotationTrust::trust));
    CHECK(c.tool_class == ToolClass::read);
    CHECK(c.source == "annotations");
  }
}

TEST_CASE("a tool the catalog does not know is a mutation by default") {
  const auto policy = policy_with(AnnotationTrust::pinned);
  MemoryPinStore pins;
  ToolCatalog catalog(policy, pins, "kube");
  catalog.learn(json::array({tool_with_annotations({{"readOnlyHint", true}})}), true, true);

  const auto c = catalog.classify("never_listed");
  CHECK(c.tool_class == ToolClass::mutate);
  CHECK(c.source == "default");
  CHECK(classify("never_listed", nullptr, false, policy).tool_class == ToolClass::mutate);
}

TEST_CASE("the catalog classifies listed tools from their definitions and the configuration") {
  auto policy = load_config_text("policy:\n  tools: { forced: destructive }\n", "sluice.yaml").policy;
  MemoryPinStore pins;
  ToolCatalog catalog(policy, pins, "kube");
  catalog.learn(json::array({
                    {{"name", "reader"}, {"annotations", {{"readOnlyHint", true}}}},
                    {{"name", "writer"}, {"annotations", {{"destructiveHint", false}}}},
                    {{"name", "plain"}},
                    {{"name", "forced"}, {"annotations", {{"readOnlyHint", true}}}},
                }),
                true, true);

  CHECK(catalog.classify("reader").tool_class == ToolClass::read);
  CHECK(catalog.classify("writer").tool_class == ToolClass::mutate);
  CHECK(catalog.classify("plain").tool_class == ToolClass::mutate);
  CHECK(catalog.classify("forced").tool_class == ToolClass::destructive);
  CHECK(catalog.classify("forced").source == "policy.tools");
}

}  // namespace
}  // namespace sluice::policy
