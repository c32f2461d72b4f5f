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
}

TEST_CASE("the demo policy: reads run, deletions are denied, staging is dry-run, production waits") {
  const policy::PolicyEngine engine(
      policy::load_config_text(demo_config_yaml(setup()), "sluice.yaml").policy);
  const auto decide = [&](std::string_view tool, ToolClass tool_class, const json& arguments) {
    return engine.decide({tool, arguments, "demo-cluster", "anonymous"}, {tool_class, "annotations"}, true);
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
