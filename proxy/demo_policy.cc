#include "proxy/demo_policy.h"

#include <nlohmann/json.hpp>

#include "policy/config_loader.h"

namespace sluice::proxy {
namespace {

// A YAML scalar that loads as exactly `text`: a JSON string is a YAML double-quoted
// scalar, and a password hash is full of `$`.
std::string quoted(const std::string& text) { return nlohmann::json(policy::literal_value(text)).dump(); }

// No listen section: stdio, for a client that starts Sluice itself (Claude Desktop).
std::string listen(const DemoSetup& setup) {
  if (setup.listen_address.empty()) return {};
  return "listen:\n  address: " + quoted(setup.listen_address) + "\n";
}

}  // namespace

std::string demo_config_yaml(const DemoSetup& setup) {
  return R"(# The configuration `sluice demo` runs with, written here so that you can read it.
# sluice-desktop.yaml is the same for a client that starts Sluice itself, on stdio
# (claude_desktop_config.json); it needs the demo cluster of this directory running.
# docs/configuration.md explains every key; docs/policy.md how a call is decided.
upstream:
  name: demo-cluster
  command: [)" + quoted(setup.sluice_kube.string()) + ", --kubeconfig, " + quoted(setup.kubeconfig.string()) + "]\n" + listen(setup) + R"(ui:
  address: )" + quoted(setup.ui_address) + R"(
  users:
    - name: )" + quoted(setup.approver) + R"(
      password: )" + quoted(setup.approver_password_hash) + R"(
      roles: [approver]
audit:
  path: )" + quoted(setup.audit_db.string()) + R"(
policy:
  mode: enforce
  default: require_approval        # a call no rule matches waits for a human: fail closed
  annotations: pinned              # a tool that changes after its first listing needs approval
  rules:                           # the first rule that matches decides
    - name: reads
      match: { class: read }
      action: allow
    - name: no-deletions
      match: { tool: "*_delete" }
      action: deny
      reason: deletions are not for agents; a human does them at a terminal
    - name: staging-rehearsal
      match: { args: { namespace: staging } }
      action: dry_run
      reason: changes in staging are rehearsed with dryRun, nothing is changed
    - name: production-changes
      match: { args: { namespace: production } }
      action: require_approval
      reason: changes in production need an approver
      approval: { timeout: 15m }
approval:
  hold: wait                       # the agent's call stays open until someone decides
  progress_interval: 15s
)";
}

}  // namespace sluice::proxy
