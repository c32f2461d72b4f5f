#include <catch2/catch.hpp>

#include "kube/manifest.h"

using sluice::kube::json;
using sluice::kube::ManifestError;
using sluice::kube::parse_manifest;
using Catch::Matchers::Contains;

TEST_CASE("a YAML manifest keeps the scalar types a Kubernetes decoder gives them") {
  const auto manifest = parse_manifest(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  paused: false\n"
      "  quoted: \"3\"\n  ratio: 0.5\n  empty: ~\n  list: [a, 1]\n");
  CHECK(manifest["spec"]["replicas"] == 3);
  CHECK(manifest["spec"]["paused"] == false);
  CHECK(manifest["spec"]["quoted"] == "3");
  CHECK(manifest["spec"]["ratio"] == 0.5);
  CHECK(manifest["spec"]["empty"].is_null());
  CHECK(manifest["spec"]["list"] == json::array({"a", 1}));
  CHECK(manifest["metadata"]["name"] == "web");
}

TEST_CASE("JSON is accepted as YAML") {
  CHECK(parse_manifest(R"({"kind":"ConfigMap","data":{"a":"1"}})")["data"]["a"] == "1");
}

TEST_CASE("manifests that are not one object are refused with a reason") {
  CHECK_THROWS_WITH(parse_manifest("a: 1\n---\nb: 2\n"), Contains("exactly one YAML document"));
  CHECK_THROWS_WITH(parse_manifest("- a\n- b\n"), Contains("must be an object"));
  CHECK_THROWS_WITH(parse_manifest("a: [\n"), Contains("line"));
  CHECK_THROWS_WITH(parse_manifest(std::string(100, 'x'), {.max_bytes = 10}), Contains("more than the limit"));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  CHECK_THROWS_AS(parse_manifest("a: " + deep), ManifestError);
}
