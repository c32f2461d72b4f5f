#include "proxy/demo_policy.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config_loader.h"
#include "policy/engine.h"

namespace sluice::proxy {
namespace {

using nlohmann::json;
using policy::Action;
using policy::ToolClass;

DemoSetup setup() {
  // A password hash is full of `$`, which the loader would otherwise expand.
  return {"/opt/sluice/sluice-kube",
          "/tmp/demo dir/kubeconfig",
          "/tmp/demo dir/audit.db",
          "127.0.0.1:0",
          "oncall-agent",
          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          "127.0.0.1:0",
          "demo-approver",
          "scrypt$ln=17,r=8,p=1$c2FsdA$a2V5"};
}

TEST_CASE("the demo configuration loads as written, paths and password hash intact") {
  const auto config = policy::load_config_text(demo_config_yaml(setup()), "sluice.yaml");
  CHECK(config.upstream.command ==
        std::vector<std::string>{"/opt/sluice/sluice-kube", "--kubeconfig", "/tmp/demo dir/kubeconfig"});
  CHECK(config.audit.path == "/tmp/demo dir/audit.db");
  CHECK(config.listen.address == "127.0.0.1:0");
  REQUIRE(config.listen.tokens.size() == 1);
  CHECK(config.listen.tokens[0].principal == "oncall-agent");
  CHECK(config.listen.tokens[0].sha256 == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  REQUIRE(config.ui);
  REQUIRE(config.ui->users.size() == 1);
  CHECK(config.ui->users[0].name == "demo-approver");
  CHECK(config.ui->users[0].password == "scrypt$ln=17,r=8,p=1$c2FsdA$a2V5");
  CHECK(config.ui->users[0].roles == std::vector<std::string>{"approver"});
}

TEST_CASE("without listen or a web UI address the demo configuration is a stdio one") {
  auto desktop = setup();
  desktop.listen_address.clear();
  const auto config = policy::load_config_text(demo_config_yaml(desktop), "sluice.yaml");
  CHECK(config.listen.address.empty());
  CHECK(config.listen.tokens.empty());
}

TEST_CASE("the demo policy: reads run, deletions are denied, staging is dry-run, production waits") {
  const policy::PolicyEngine engine(
      policy::load_config_text(demo_config_yaml(setup()), "sluice.yaml").policy);
  const auto decide = [&](std::string_view tool, ToolClass tool_class, const json& arguments) {
    return engine.decide({tool, arguments, "demo-cluster", "oncall-agent"}, {tool_class, "annotations"},
                         true);
  };
  CHECK(decide("pods_log", ToolClass::read, {{"namespace", "production"}, {"name", "x"}}).action ==
        Action::allow);
  const auto deletion =
      decide("pods_delete", ToolClass::destructive, {{"namespace", "staging"}, {"name", "x"}});
  CHECK(deletion.action == Action::deny);
  CHECK(deletion.rule == "no-deletions");
  const auto rehearsal = decide("deployments_rollout_restart", ToolClass::mutate,
                                {{"namespace", "staging"}, {"name", "checkout"}});
  CHECK(rehearsal.action == Action::dry_run);
  const auto production = decide("deployments_rollout_restart", ToolClass::mutate,
                                 {{"namespace", "production"}, {"name", "checkout"}});
  CHECK(production.action == Action::require_approval);
  CHECK(production.rule == "production-changes");
  const auto elsewhere = decide("deployments_scale", ToolClass::mutate,
                                {{"namespace", "kube-system"}, {"name", "dns"}, {"replicas", 0}});
  CHECK(elsewhere.action == Action::require_approval);
  CHECK(elsewhere.rule == "default");
}

}  // namespace
}  // namespace sluice::proxy
