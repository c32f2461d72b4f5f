// Where sluice-kube finds its cluster and credentials: a kubeconfig (--kubeconfig,
// the first file of $KUBECONFIG, or ~/.kube/config) and its current or named context,
// or, inside a pod, the service account. Everything is read once at startup; every
// error names the file and the key and says what was expected.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::kube {

struct KubeconfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ClusterCredentials {
  std::string server;                // https://HOST[:PORT][/PREFIX]
  std::string certificate_authority_pem;  // empty: the system's trust store
  bool insecure_skip_tls_verify = false;
  std::string client_certificate_pem;
  std::string client_key_pem;
  std::string bearer_token;
  // Where the token came from, when a file: service-account tokens are rotated by
  // the kubelet, so the REST client reads the file again (see RestClient).
  std::string bearer_token_file;
  std::string default_namespace = "default";
  std::string context;  // the context used, or "in-cluster"
  std::string source;   // the file read, or the service account directory
};

// The process environment as the loader sees it, so tests can supply their own.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

struct CredentialOptions {
  std::string kubeconfig;  // --kubeconfig; empty: $KUBECONFIG, ~/.kube/config, in-cluster
  std::string context;     // --context; empty: current-context
};

// Resolves the credentials as kubectl would. Throws KubeconfigError.
ClusterCredentials load_credentials(const CredentialOptions& options, const Environment& environment);

// Parses one kubeconfig. `path` names the file in errors and anchors relative paths.
ClusterCredentials parse_kubeconfig(std::string_view text, const std::string& path, const std::string& context);

// The service account of a pod: token, CA and namespace under `directory`, the API
// server from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
ClusterCredentials in_cluster_credentials(const std::string& directory, const Environment& environment);

inline constexpr const char* kServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

// A token file's contents without the trailing newline. Throws KubeconfigError
// naming `what` when it cannot be read.
std::string read_token_file(const std::string& path, const std::string& what);

// Strict standard base64 (whitespace between groups allowed); nullopt-free: throws
// KubeconfigError naming `what` on any other character or a bad length.
std::string decode_base64(std::string_view text, const std::string& what);

}  // namespace sluice::kube
