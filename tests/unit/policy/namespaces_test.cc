#include "policy/namespaces.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sluice::policy {
using json = nlohmann::json;
namespace {

using names = std::vector<std::string>;

NamespacePolicy looking_at(std::initializer_list<const char*> paths) {
  NamespacePolicy policy;
  for (const auto* path : paths) policy.arguments.emplace_back(path);
  return policy;
}

const NamespacePolicy usual = looking_at({"namespace", "/metadata/namespace"});

TEST_CASE("a namespace is found in a top-level argument") {
  CHECK(namespaces_named({{"namespace", "prod"}, {"name", "web"}}, usual) == names{"prod"});
  SECTION("only where the configuration says to look") {
    CHECK(namespaces_named({{"ns", "prod"}}, usual).empty());
    CHECK(namespaces_named({{"ns", "prod"}}, looking_at({"ns"})) == names{"prod"});
  }
  SECTION("a value that is not a string still names something, as its JSON text") {
    CHECK(namespaces_named({{"namespace", 5}}, usual) == names{"5"});
    CHECK(namespaces_named({{"namespace", {"prod"}}}, usual) == names{R"(["prod"])"});
    CHECK(namespaces_named({{"namespace", nullptr}}, usual).empty());
  }
}

TEST_CASE("a namespace is found through a JSON pointer") {
  CHECK(namespaces_named({{"metadata", {{"namespace", "kube-system"}}}}, usual) == names{"kube-system"});
  CHECK(namespaces_named({{"target", {{"ns", "a"}}}}, looking_at({"/target/ns"})) == names{"a"});
}

TEST_CASE("a manifest that names a namespace but cannot be read fails closed") {
  CHECK(namespaces_named({{"manifest", "metadata: {namespace: [unclosed"}}, usual) == names{"<unreadable manifest>"});
  SECTION("prose that mentions the word is not a manifest") {
    CHECK(namespaces_named({{"note", "the namespace: is [broken"}}, usual).empty());
  }
}

TEST_CASE("the objects of a List are searched") {
  const auto list = "kind: List\nitems:\n- metadata: {name: a, namespace: team-a}\n- metadata: {name: b, namespace: prod}\n";
  CHECK(namespaces_named({{"manifest", list}}, usual) == names{"team-a", "prod"});
  CHECK(namespaces_named({{"manifest", {{"kind", "List"}, {"items", {{{"metadata", {{"namespace", "x"}}}}}}}}}, usual) ==
        names{"x"});
}

TEST_CASE("namespaces are found in manifest objects passed as arguments") {
  SECTION("an object argument") {
    const json arguments = {{"manifest", {{"kind", "Deployment"}, {"metadata", {{"namespace", "prod"}}}}}};
    CHECK(namespaces_named(arguments, usual) == names{"prod"});
  }
  SECTION("objects in an array argument") {
    const json arguments = {{"resources", json::array({{{"metadata", {{"namespace", "a"}}}},
                                                       {{"metadata", {{"name", "no-namespace"}}}},
                                                       "not an object",
                                                       {{"metadata", {{"namespace", "b"}}}}})}};
    CHECK(namespaces_named(arguments, usual) == names{"a", "b"});
  }
  SECTION("manifest objects are searched with the pointers only, not the plain names") {
    const json arguments = {{"manifest", {{"namespace", "prod"}}}};
    CHECK(namespaces_named(arguments, usual).empty());
  }
}

TEST_CASE("namespaces are found in manifests passed as YAML or JSON text") {
  SECTION("one YAML document") {
    const json arguments = {
        {"manifest", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: team-a\n"}};
    CHECK(namespaces_named(arguments, usual) == names{"team-a"});
  }
  SECTION("several YAML documents, in order") {
    const json arguments = {
        {"manifest",
         "kind: ConfigMap\nmetadata:\n  namespace: a\n---\nkind: Secret\nmetadata:\n  namespace: b\n"
         "---\njust a string\n---\nkind: Pod\nmetadata: {}\n"}};
    CHECK(namespaces_named(arguments, usual) == names{"a", "b"});
  }
  SECTION("JSON text") {
    const json arguments = {{"body", R"({"kind":"Pod","metadata":{"namespace":"c"}})"}};
    CHECK(namespaces_named(arguments, usual) == names{"c"});
  }
}

TEST_CASE("text that is not a manifest naming a namespace names none") {
  CHECK(namespaces_named({{"manifest", "kind: Pod\nmetadata:\n  name: web\n"}}, usual).empty());
  CHECK(namespaces_named({{"note", "namespace: prod"}}, usual).empty());
  CHECK(namespaces_named({{"note", "the namespace is prod"}}, usual).empty());
}

TEST_CASE("a namespace key spelled with escapes in manifest text is still found") {
  // YAML and JSON both decode escapes in keys, so the server reads this key as
  // "namespace" although the word is not in the text.
  SECTION("a YAML escape") {
    CHECK(namespaces_named({{"manifest", "metadata:\n  \"n\\x61mespace\": prod\n"}}, usual) == names{"prod"});
  }
  SECTION("a JSON escape") {
    CHECK(namespaces_named({{"manifest", R"({"metadata":{"namesp\u0061ce":"prod"}})"}}, usual) ==
          names{"prod"});
  }
}

TEST_CASE("text that mentions namespace but is not YAML is ignored") {
  const json arguments = {{"comment", "please: [do not: {touch the namespace"}, {"namespace", "dev"}};
  CHECK(namespaces_named(arguments, usual) == names{"dev"});
}

TEST_CASE("each namespace is named once, in the order found") {
  const json arguments = {{"namespace", "a"},
                          {"metadata", {{"namespace", "a"}}},
                          {"manifests", json::array({{{"metadata", {{"namespace", "b"}}}},
                                                     {{"metadata", {{"namespace", "a"}}}}})},
                          {"yaml", "metadata:\n  namespace: b\n---\nmetadata:\n  namespace: c\n"}};
  CHECK(namespaces_named(arguments, usual) == names{"a", "b", "c"});
}

TEST_CASE("arguments that are not an object name no namespace") {
  CHECK(namespaces_named(json::array({{{"namespace", "x"}}}), usual).empty());
  CHECK(namespaces_named(nullptr, usual).empty());
  CHECK(namespaces_named("namespace: x", usual).empty());
}

}  // namespace
}  // namespace sluice::policy
