#include <catch2/catch.hpp>

#include "kube/demo-cluster/api_server.h"
#include "kube/demo-cluster/patches.h"
#include "kube/demo-cluster/sample_data.h"
#include "kube/demo-cluster/selectors.h"

using nlohmann::json;
using namespace sluice::kube::demo;

namespace {

struct Demo {
  ClusterState state{demo_images()};
  ApiServer api{state};
  Demo() { load_sample_data(state); }

  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::string& content_type = "application/json", Caller caller = {"admin", {kAdminGroup}}) {
    return api.handle({method, target, content_type, "application/json", body, std::move(caller)});
  }
  json get(const std::string& target) { return json::parse(call("GET", target).body); }
};

}  // namespace

TEST_CASE("label selectors: equality, sets, existence") {
  const json labels = {{"app", "web"}, {"tier", "front"}};
  CHECK(LabelSelector::parse("app=web").matches(labels));
  CHECK(LabelSelector::parse("app==web,tier in (front, back)").matches(labels));
  CHECK_FALSE(LabelSelector::parse("app!=web").matches(labels));
  CHECK(LabelSelector::parse("tier notin (back),!canary").matches(labels));
  CHECK_FALSE(LabelSelector::parse("canary").matches(labels));
  CHECK(LabelSelector::parse("").matches(labels));
  CHECK_THROWS_AS(LabelSelector::parse("app in web"), SelectorError);
}

TEST_CASE("field selectors compare any dotted path") {
  const json pod = {{"metadata", {{"name", "a"}}}, {"status", {{"phase", "Pending"}}}};
  CHECK(FieldSelector::parse("status.phase=Pending,metadata.name!=b").matches(pod));
  CHECK_FALSE(FieldSelector::parse("status.phase=Running").matches(pod));
  CHECK(FieldSelector::parse("spec.nodeName=").matches(pod));
  CHECK_THROWS_AS(FieldSelector::parse("status.phase"), SelectorError);
}

TEST_CASE("a strategic merge patch merges lists of named objects by name") {
  const json target = {{"containers", {{{"name", "a"}, {"image", "x:1"}}, {{"name", "b"}, {"image", "y:1"}}}}};
  const json patched = apply_patch(PatchType::strategic_merge, target,
                                   {{"containers", {{{"name", "b"}, {"image", "y:2"}}}}});
  CHECK(patched["containers"].size() == 2);
  CHECK(patched["containers"][1]["image"] == "y:2");
  CHECK(patched["containers"][0]["image"] == "x:1");
  CHECK_THROWS_AS(apply_patch(PatchType::strategic_merge, target, {{"$patch", "delete"}}), ApiError);
}

TEST_CASE("a dry run computes the change and stores nothing") {
  Demo demo;
  const auto before = demo.get("/apis/apps/v1/namespaces/production/deployments/frontend");
  const auto dry = demo.call("PATCH", "/apis/apps/v1/namespaces/production/deployments/frontend/scale?dryRun=All",
                             R"({"spec":{"replicas":7}})", "application/merge-patch+json");
  CHECK(dry.status == 200);
  CHECK(json::parse(dry.body)["spec"]["replicas"] == 7);
  const auto after = demo.get("/apis/apps/v1/namespaces/production/deployments/frontend");
  CHECK(after == before);
  CHECK(demo.get("/api/v1/namespaces/production/pods?labelSelector=app%3Dfrontend")["items"].size() == 2);
}

TEST_CASE("scaling a deployment creates and removes its pods") {
  Demo demo;
  const auto response = demo.call("PATCH", "/apis/apps/v1/namespaces/staging/deployments/frontend/scale",
                                  R"({"spec":{"replicas":3}})", "application/merge-patch+json");
  REQUIRE(response.status == 200);
  CHECK(demo.get("/api/v1/namespaces/staging/pods?labelSelector=app%3Dfrontend")["items"].size() == 3);
  CHECK(demo.get("/apis/apps/v1/namespaces/staging/deployments/frontend")["status"]["readyReplicas"] == 3);
}

TEST_CASE("errors are Status objects with the code kubectl expects") {
  Demo demo;
  SECTION("404 names the object") {
    const auto response = demo.call("GET", "/api/v1/namespaces/production/pods/nope");
    CHECK(response.status == 404);
    CHECK(json::parse(response.body)["message"] == "pods \"nope\" not found");
  }
  SECTION("403 names the user, verb and resource") {
    const auto response = demo.call("DELETE", "/api/v1/namespaces/production/pods/x", {}, {}, {kViewerUser, {}});
    CHECK(response.status == 403);
    CHECK(json::parse(response.body)["reason"] == "Forbidden");
  }
  SECTION("409 for a create of an existing object") {
    const auto response = demo.call("POST", "/api/v1/namespaces/production/services",
                                    R"({"metadata":{"name":"checkout"},"spec":{}})");
    CHECK(response.status == 409);
  }
  SECTION("422 for an invalid name") {
    const auto response = demo.call("POST", "/api/v1/namespaces/production/configmaps", R"({"metadata":{"name":"A_B"}})");
    CHECK(response.status == 422);
  }
  SECTION("415 for a body that is no patch") {
    const auto response = demo.call("PATCH", "/api/v1/namespaces/production/services/checkout", "{}", "text/plain");
    CHECK(response.status == 415);
  }
  SECTION("400 for a body nested too deep") {
    const auto response = demo.call("POST", "/api/v1/namespaces/production/configmaps", std::string(100, '[') + std::string(100, ']'));
    CHECK(response.status == 400);
  }
}

TEST_CASE("a crash-looping pod's logs and events say why") {
  Demo demo;
  const auto pods = demo.get("/api/v1/namespaces/production/pods?labelSelector=app%3Dcheckout");
  REQUIRE(pods["items"].size() == 3);
  const std::string name = pods["items"][0]["metadata"]["name"];
  const auto log = demo.call("GET", "/api/v1/namespaces/production/pods/" + name + "/log?previous=true&tailLines=1");
  CHECK(log.content_type == "text/plain");
  CHECK(log.body.find("PAYMENTS_API_URL is empty") != std::string::npos);
  const auto events = demo.get("/api/v1/namespaces/production/events?fieldSelector=involvedObject.name%3D" + name +
                               ",reason%3DBackOff");
  CHECK(events["items"].size() == 1);
}
