// The configuration `sluice demo` runs with. It is written to the demo's directory as
// sluice.yaml and loaded from there, so what a newcomer reads is what runs, and
// `sluice run --config DIR/sluice.yaml` runs it again.
#pragma once

#include <filesystem>
#include <string>

namespace sluice::proxy {

struct DemoSetup {
  std::filesystem::path sluice_kube;  // the upstream
  std::filesystem::path kubeconfig;   // the demo cluster's
  std::filesystem::path audit_db;
  std::string listen_address;  // MCP over HTTP
  std::string agent;           // the principal of the one bearer token the listener takes
  std::string agent_token_sha256;
  std::string ui_address;
  std::string approver;  // the web UI's one user
  std::string approver_password_hash;
};

// The demo policy, fitted to the demo cluster's namespaces (production, staging):
// reads run; deletions are denied; changes in staging are dry-run; changes in
// production wait for an approver; anything else waits for one too (fail closed).
std::string demo_config_yaml(const DemoSetup& setup);

}  // namespace sluice::proxy
