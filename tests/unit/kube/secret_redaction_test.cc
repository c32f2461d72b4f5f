#include <catch2/catch.hpp>

#include "kube/secret_redaction.h"

using nlohmann::json;
using sluice::kube::redact_secrets;

namespace {
const std::string kValue = "c3VwZXItc2VjcmV0";  // base64 of "super-secret"
}

TEST_CASE("a Secret's data, stringData and last-applied configuration are replaced") {
  json secret = {{"kind", "Secret"},
                 {"metadata",
                  {{"name", "db"},
                   {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", kValue}, {"team", "x"}}}}},
                 {"data", {{"password", kValue}}},
                 {"stringData", {{"user", "admin"}}}};
  redact_secrets(secret, false);
  const auto text = secret.dump();
  CHECK(text.find(kValue) == std::string::npos);
  CHECK(text.find("admin") == std::string::npos);
  CHECK(secret["data"]["password"] == "[redacted: 16 bytes]");
  CHECK(secret["metadata"]["annotations"]["team"] == "x");
  CHECK(secret["metadata"]["name"] == "db");
}

TEST_CASE("Secrets are found wherever they sit") {
  SECTION("a SecretList's items carry no kind") {
    json list = {{"kind", "SecretList"}, {"items", {{{"metadata", {{"name", "a"}}}, {"data", {{"k", kValue}}}}}}};
    redact_secrets(list, false);
    CHECK(list.dump().find(kValue) == std::string::npos);
  }
  SECTION("a list known to be of secrets, and Table rows") {
    json table = {{"kind", "Table"}, {"rows", {{{"cells", {"a"}}, {"object", {{"data", {{"k", kValue}}}}}}}}};
    redact_secrets(table, true);
    CHECK(table.dump().find(kValue) == std::string::npos);
  }
  SECTION("nested in another document") {
    json wrapper = {{"result", {{"objects", {{{"kind", "Secret"}, {"data", {{"k", kValue}}}}}}}}};
    redact_secrets(wrapper, false);
    CHECK(wrapper.dump().find(kValue) == std::string::npos);
  }
}

TEST_CASE("other objects are left alone") {
  json config_map = {{"kind", "ConfigMap"}, {"data", {{"k", kValue}}}};
  redact_secrets(config_map, false);
  CHECK(config_map["data"]["k"] == kValue);
}
