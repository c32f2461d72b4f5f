#include "proxy/demo_policy.h"

#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/config_loader.h"

namespace sluice::proxy {
namespace {

// The part a newcomer reads to see what the demo decides, as it appears in the file.
constexpr std::string_view demo_policy = R"(policy:
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

// A YAML scalar that loads as exactly `text`: a JSON string is a YAML double-quoted
// scalar, and a password hash is full of `$`.
std::string quoted(const std::string& text) { return nlohmann::json(policy::literal_value(text)).dump(); }

}  // namespace

std::string demo_config_yaml(const DemoSetup& setup) {
  std::ostringstream out;
  out << "# The configuration `sluice demo` runs with, written here so that you can read it.\n"
         "# sluice-desktop.yaml is the same for a client that starts Sluice itself, on stdio\n"
         "# (claude_desktop_config.json); it needs the demo cluster of this directory running.\n"
         "# docs/configuration.md explains every key; docs/policy.md how a call is decided.\n"
      << "upstream:\n"
      << "  name: demo-cluster\n"
      << "  command: [" << quoted(setup.sluice_kube.string()) << ", --kubeconfig, "
      << quoted(setup.kubeconfig.string()) << "]\n";
  // Without it, stdio: for a client that starts Sluice itself (Claude Desktop).
  if (!setup.listen_address.empty()) {
    out << "listen:\n"
        << "  address: " << quoted(setup.listen_address) << "\n"
        << "  tokens:                        # who calls: the audit log and the web UI name them\n"
        << "    - principal: " << quoted(setup.agent) << "\n"
        << "      sha256: " << quoted(setup.agent_token_sha256) << "\n";
  }
  out << "ui:\n"
      << "  address: " << quoted(setup.ui_address) << "\n"
      << "  users:\n"
      << "    - name: " << quoted(setup.approver) << "\n"
      << "      password: " << quoted(setup.approver_password_hash) << "\n"
      << "      roles: [approver]\n"
      << "audit:\n"
      << "  path: " << quoted(setup.audit_db.string()) << "\n"
      << demo_policy;
  return out.str();
}

}  // namespace sluice::proxy
