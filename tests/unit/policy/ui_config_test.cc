// The ui: section of sluice.yaml: the web UI's address, users and local approver.
#include <catch2/catch.hpp>

#include "policy/config_loader.h"

namespace sluice::policy {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

constexpr std::string_view hash = "scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U";

std::string error_of(const std::string& yaml) {
  try {
    (void)load_config_text(yaml, "sluice.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("loading did not throw a ConfigError:\n" << yaml);
  return {};
}

TEST_CASE("the ui section names the address, the users with their hashes and roles") {
  const auto config = load_config_text("ui:\n  address: 127.0.0.1:9000\n  users:\n    - { name: alice, password: \"" +
                                           std::string(hash) + "\", roles: [approver, sre-leads] }\n    - { name: bob, password: \"" +
                                           std::string(hash) + "\" }\n",
                                       "sluice.yaml");
  REQUIRE(config.ui.has_value());
  CHECK(config.ui->address == "127.0.0.1:9000");
  REQUIRE(config.ui->users.size() == 2);
  CHECK(config.ui->users[0].name == "alice");
  CHECK(config.ui->users[0].password == hash);  // a lone $ is not an expansion
  CHECK(config.ui->users[0].roles == std::vector<std::string>{"approver", "sre-leads"});
  CHECK(config.ui->users[1].roles.empty());
  SECTION("it survives the round trip through to_yaml") {
    const auto again = load_config_text(to_yaml(config), "again.yaml");
    REQUIRE(again.ui.has_value());
    CHECK(again.ui->users[0].password == hash);
    CHECK(again.ui->users[0].roles == config.ui->users[0].roles);
    CHECK(again.ui->address == "127.0.0.1:9000");
  }
}

TEST_CASE("without a ui section there is no web UI and an empty one gets the defaults") {
  CHECK_FALSE(load_config_text("", "sluice.yaml").ui.has_value());
  const auto config = load_config_text("ui: {}\n", "sluice.yaml");
  REQUIRE(config.ui.has_value());
  CHECK(config.ui->address == "127.0.0.1:8766");
  CHECK(config.ui->users.empty());
  CHECK(load_config_text("ui:\n  local_approver: ops\n", "sluice.yaml").ui->local_approver == "ops");
}

TEST_CASE("ui mistakes are refused with the line and key") {
  CHECK_THAT(error_of("ui:\n  address: 8766\n"), StartsWith("sluice.yaml:2: ui.address: expected HOST:PORT"));
  CHECK_THAT(error_of("ui:\n  address: localhost:99999\n"), Contains("ui.address: expected HOST:PORT"));
  CHECK_THAT(error_of("ui:\n  users:\n    - { name: alice, password: hunter2 }\n"),
             StartsWith("sluice.yaml:3: ui.users[0].password: expected a password hash that starts with \"scrypt$\""));
  CHECK_THAT(error_of("ui:\n  users:\n    - { name: alice }\n"), Contains("ui.users[0]: a user needs a name and a password"));
  CHECK_THAT(error_of("ui:\n  users:\n    - { name: a, password: \"" + std::string(hash) + "\" }\n    - { name: a, password: \"" +
                      std::string(hash) + "\" }\n"),
             Contains("ui.users[1].name: the user \"a\" is listed twice"));
  CHECK_THAT(error_of("ui:\n  port: 1\n"), Contains("ui.port: unknown key"));
}

}  // namespace
}  // namespace sluice::policy
