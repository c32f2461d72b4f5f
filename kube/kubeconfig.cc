#include "kube/kubeconfig.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

extern char** environ;  // NOLINT: POSIX

namespace sluice::kube {
namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{4} << 20;

std::string read_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw KubeconfigError(what + ": cannot read " + path + ": " + ec.message());
  if (size > kMaxFileBytes) throw KubeconfigError(what + ": " + path + " is larger than 4 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KubeconfigError(what + ": cannot open " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class KubeconfigReader {
 public:
  KubeconfigReader(std::string path, YAML::Node root) : path_(std::move(path)), root_(std::move(root)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& problem) const {
    const std::string line = node && node.Mark().line >= 0 ? ":" + std::to_string(node.Mark().line + 1) : "";
    throw KubeconfigError(path_ + line + ": " + key + ": " + problem);
  }

  std::string string_at(const YAML::Node& parent, const char* key, const std::string& where) const {
    const YAML::Node node = parent[key];
    if (!node || node.IsNull()) return {};
    if (!node.IsScalar()) fail(node, where + "." + key, "expected a string");
    return node.Scalar();
  }

  // The entry of `list` (clusters, users, contexts) called `name`.
  YAML::Node named(const char* list, const std::string& name, const char* body) const {
    const YAML::Node entries = root_[list];
    if (entries && !entries.IsSequence()) fail(entries, list, "expected a list");
    if (entries) {
      for (const auto& entry : entries) {
        if (entry["name"] && entry["name"].IsScalar() && entry["name"].Scalar() == name) {
          const YAML::Node content = entry[body];
          if (!content || !content.IsMap()) fail(entry, std::string(list) + "[" + name + "]." + body, "expected a map");
          return content;
        }
      }
    }
    std::string known;
    if (entries) {
      for (const auto& entry : entries) {
        if (entry["name"] && entry["name"].IsScalar()) known += (known.empty() ? "" : ", ") + entry["name"].Scalar();
      }
    }
    throw KubeconfigError(path_ + ": " + list + ": no entry named \"" + name + "\"" +
                          (known.empty() ? "" : " (known: " + known + ")"));
  }

  // A credential given inline (`KEY-data`, base64) or as a file (`KEY`, relative
  // to the kubeconfig's directory); empty when neither is set.
  std::string data_or_file(const YAML::Node& parent, const std::string& key, const std::string& where) const {
    const std::string data = string_at(parent, (key + "-data").c_str(), where);
    if (!data.empty()) return decode_base64(data, path_ + ": " + where + "." + key + "-data");
    const std::string file = string_at(parent, key.c_str(), where);
    if (file.empty()) return {};
    return read_file(resolve(file), path_ + ": " + where + "." + key);
  }

  std::string resolve(const std::string& file) const {
    if (std::filesystem::path(file).is_absolute()) return file;
    return (std::filesystem::path(path_).parent_path() / file).lexically_normal().string();
  }

  ClusterCredentials credentials(const std::string& wanted_context) const {
    ClusterCredentials result;
    result.source = path_;
    result.context = wanted_context.empty() ? string_at(root_, "current-context", "kubeconfig") : wanted_context;
    if (result.context.empty()) {
      throw KubeconfigError(path_ + ": current-context is not set; name a context with --context");
    }
    const std::string where_context = "contexts[" + result.context + "].context";
    const YAML::Node context = named("contexts", result.context, "context");
    const std::string cluster_name = string_at(context, "cluster", where_context);
    const std::string user_name = string_at(context, "user", where_context);
    if (cluster_name.empty()) fail(context, where_context + ".cluster", "expected the name of a cluster");
    if (const auto ns = string_at(context, "namespace", where_context); !ns.empty()) result.default_namespace = ns;

    const std::string where_cluster = "clusters[" + cluster_name + "].cluster";
    const YAML::Node cluster = named("clusters", cluster_name, "cluster");
    result.server = string_at(cluster, "server", where_cluster);
    if (result.server.rfind("https://", 0) != 0) {
      fail(cluster["server"], where_cluster + ".server",
           "expected an https:// URL, got \"" + result.server + "\" (plain HTTP is not supported)");
    }
    result.certificate_authority_pem = data_or_file(cluster, "certificate-authority", where_cluster);
    result.insecure_skip_tls_verify = string_at(cluster, "insecure-skip-tls-verify", where_cluster) == "true";

    if (user_name.empty()) return result;
    const std::string where_user = "users[" + user_name + "].user";
    const YAML::Node user = named("users", user_name, "user");
    for (const char* unsupported : {"exec", "auth-provider"}) {
      if (user[unsupported]) {
        fail(user[unsupported], where_user + "." + unsupported,
             std::string("credential plugins (") + unsupported +
                 ") are not supported by sluice-kube; use a client certificate, a token or a token file");
      }
    }
    if (user["username"] || user["password"]) {
      fail(user["username"] ? user["username"] : user["password"], where_user + ".username",
           "basic authentication is not supported (Kubernetes removed it in 1.19)");
    }
    result.client_certificate_pem = data_or_file(user, "client-certificate", where_user);
    result.client_key_pem = data_or_file(user, "client-key", where_user);
    if (result.client_certificate_pem.empty() != result.client_key_pem.empty()) {
      fail(user, where_user, "a client certificate needs its key and a key its certificate");
    }
    result.bearer_token = string_at(user, "token", where_user);
    if (result.bearer_token.empty()) {
      if (const auto token_file = string_at(user, "tokenFile", where_user); !token_file.empty()) {
        result.bearer_token_file = resolve(token_file);
        result.bearer_token = read_token_file(result.bearer_token_file, path_ + ": " + where_user + ".tokenFile");
      }
    }
    return result;
  }

 private:
  std::string path_;
  YAML::Node root_;
};

}  // namespace

std::string read_token_file(const std::string& path, const std::string& what) {
  std::string token = read_file(path, what);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())) != 0) token.pop_back();
  return token;
}

std::string decode_base64(std::string_view text, const std::string& what) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    else if (c == '=') {
      ++padding;
      ++symbols;
      continue;
    }
    if (value < 0 || padding > 0) throw KubeconfigError(what + ": not valid base64");
    ++symbols;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (symbols % 4 != 0 || padding > 2) throw KubeconfigError(what + ": not valid base64 (length is not a multiple of 4)");
  return out;
}

Environment process_environment() {
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string_view::npos) environment.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return environment;
}

ClusterCredentials parse_kubeconfig(std::string_view text, const std::string& path, const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    throw KubeconfigError(path + ":" + std::to_string(error.mark.line + 1) + ": not valid YAML: " + error.msg);
  }
  if (!root.IsMap()) throw KubeconfigError(path + ": expected a kubeconfig (a map with clusters, users, contexts)");
  try {
    return KubeconfigReader(path, root).credentials(context);
  } catch (const YAML::Exception& error) {
    throw KubeconfigError(path + ":" + std::to_string(error.mark.line + 1) + ": " + error.msg);
  }
}

ClusterCredentials in_cluster_credentials(const std::string& directory, const Environment& environment) {
  const auto host = environment.find("KUBERNETES_SERVICE_HOST");
  const auto port = environment.find("KUBERNETES_SERVICE_PORT");
  if (host == environment.end() || port == environment.end()) {
    throw KubeconfigError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  ClusterCredentials result;
  result.context = "in-cluster";
  result.source = directory;
  const bool ipv6 = host->second.find(':') != std::string::npos;
  result.server = "https://" + (ipv6 ? "[" + host->second + "]" : host->second) + ":" + port->second;
  result.bearer_token_file = directory + "/token";
  result.bearer_token = read_token_file(result.bearer_token_file, "in-cluster service account token");
  result.certificate_authority_pem = read_file(directory + "/ca.crt", "in-cluster CA");
  std::error_code ec;
  if (std::filesystem::exists(directory + "/namespace", ec)) {
    result.default_namespace = read_file(directory + "/namespace", "in-cluster namespace");
  }
  return result;
}

ClusterCredentials load_credentials(const CredentialOptions& options, const Environment& environment) {
  std::string path = options.kubeconfig;
  if (path.empty()) {
    if (const auto variable = environment.find("KUBECONFIG"); variable != environment.end() && !variable->second.empty()) {
      path = variable->second.substr(0, variable->second.find(':'));
    }
  }
  if (path.empty()) {
    if (const auto home = environment.find("HOME"); home != environment.end()) {
      const std::string candidate = home->second + "/.kube/config";
      std::error_code ec;
      if (std::filesystem::exists(candidate, ec)) path = candidate;
    }
  }
  if (path.empty()) {
    if (const auto host = environment.find("KUBERNETES_SERVICE_HOST"); host != environment.end() && !host->second.empty()) {
      if (!options.context.empty()) throw KubeconfigError("--context " + options.context + ": no kubeconfig to find it in");
      return in_cluster_credentials(kServiceAccountDirectory, environment);
    }
    throw KubeconfigError(
        "no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service "
        "account");
  }
  return parse_kubeconfig(read_file(path, "kubeconfig"), path, options.context);
}

}  // namespace sluice::kube
