// The demo cluster's own PKI, generated at every start with OpenSSL 3: a CA, a
// server certificate for 127.0.0.1/localhost and a client certificate for the
// admin user, as PEM text ready for the TLS context and the kubeconfig.
#pragma once

#include <string>

namespace sluice::kube::demo {

struct KeyPair {
  std::string certificate_pem;
  std::string private_key_pem;
};

struct DemoPki {
  KeyPair ca;
  KeyPair server;
  KeyPair client;  // CN is the user name, O the group, as Kubernetes reads them.
};

// Throws std::runtime_error with OpenSSL's reason when a step fails.
DemoPki generate_pki(const std::string& client_user, const std::string& client_group);

}  // namespace sluice::kube::demo
