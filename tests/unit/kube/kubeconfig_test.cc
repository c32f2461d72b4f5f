#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "kube/kubeconfig.h"

using sluice::kube::ClusterCredentials;
using sluice::kube::decode_base64;
using sluice::kube::Environment;
using sluice::kube::KubeconfigError;
using sluice::kube::load_credentials;
using sluice::kube::parse_kubeconfig;
using Catch::Matchers::Contains;

namespace {

// "CERT" and "KEY" in base64, as the *-data fields carry them.
const std::string kCertData = "Q0VSVA==";
const std::string kKeyData = "S0VZ";

std::string kubeconfig(const std::string& cluster_extra, const std::string& user) {
  return "apiVersion: v1\nkind: Config\n"
         "clusters:\n- name: prod\n  cluster:\n    server: https://10.0.0.1:6443\n" +
         cluster_extra +
         "users:\n- name: alice\n  user:\n" + user +
         "contexts:\n- name: prod-admin\n  context:\n    cluster: prod\n    user: alice\n    namespace: payments\n"
         "- name: other\n  context:\n    cluster: prod\n    user: alice\n"
         "current-context: prod-admin\n";
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("sluice-kubeconfig-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& contents) const {
    std::ofstream(path / name) << contents;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("a kubeconfig with inline client certificate, key and CA data") {
  const auto credentials = parse_kubeconfig(
      kubeconfig("    certificate-authority-data: " + kCertData + "\n",
                 "    client-certificate-data: " + kCertData + "\n    client-key-data: " + kKeyData + "\n"),
      "/home/a/.kube/config", "");
  CHECK(credentials.server == "https://10.0.0.1:6443");
  CHECK(credentials.certificate_authority_pem == "CERT");
  CHECK(credentials.client_certificate_pem == "CERT");
  CHECK(credentials.client_key_pem == "KEY");
  CHECK(credentials.bearer_token.empty());
  CHECK(credentials.context == "prod-admin");
  CHECK(credentials.default_namespace == "payments");
  CHECK_FALSE(credentials.insecure_skip_tls_verify);
}

TEST_CASE("certificate, key, CA and token files are read relative to the kubeconfig") {
  TempDir dir;
  dir.write("ca.crt", "CA-PEM");
  dir.write("client.crt", "CLIENT-PEM");
  dir.write("client.key", "KEY-PEM");
  dir.write("token", "s3cr3t-token\n");
  SECTION("certificates") {
    const auto credentials = parse_kubeconfig(
        kubeconfig("    certificate-authority: ca.crt\n",
                   "    client-certificate: client.crt\n    client-key: " + (dir.path / "client.key").string() + "\n"),
        (dir.path / "config").string(), "");
    CHECK(credentials.certificate_authority_pem == "CA-PEM");
    CHECK(credentials.client_certificate_pem == "CLIENT-PEM");
    CHECK(credentials.client_key_pem == "KEY-PEM");
  }
  SECTION("a token file, trailing newline dropped") {
    const auto credentials = parse_kubeconfig(kubeconfig("", "    tokenFile: token\n"), (dir.path / "config").string(), "");
    CHECK(credentials.bearer_token == "s3cr3t-token");
    CHECK(credentials.bearer_token_file == (dir.path / "token").string());
  }
}

TEST_CASE("a bearer token and insecure-skip-tls-verify") {
  const auto credentials =
      parse_kubeconfig(kubeconfig("    insecure-skip-tls-verify: true\n", "    token: abc.def\n"), "cfg", "");
  CHECK(credentials.bearer_token == "abc.def");
  CHECK(credentials.insecure_skip_tls_verify);
  CHECK(credentials.certificate_authority_pem.empty());
}

TEST_CASE("a named context wins over current-context; its namespace defaults to default") {
  const auto credentials = parse_kubeconfig(kubeconfig("", "    token: t\n"), "cfg", "other");
  CHECK(credentials.context == "other");
  CHECK(credentials.default_namespace == "default");
}

TEST_CASE("kubeconfig errors name the file, the key and what was expected") {
  SECTION("an unknown context lists the known ones") {
    CHECK_THROWS_WITH(parse_kubeconfig(kubeconfig("", "    token: t\n"), "cfg", "staging"),
                      Contains("cfg: contexts: no entry named \"staging\"") && Contains("prod-admin, other"));
  }
  SECTION("bad base64") {
    CHECK_THROWS_WITH(
        parse_kubeconfig(kubeconfig("    certificate-authority-data: not*base64\n", "    token: t\n"), "cfg", ""),
        Contains("clusters[prod].cluster.certificate-authority-data: not valid base64"));
    CHECK_THROWS_WITH(parse_kubeconfig(kubeconfig("", "    client-certificate-data: QUJD\n    client-key-data: QUJ\n"),
                                       "cfg", ""),
                      Contains("client-key-data: not valid base64"));
  }
  SECTION("a missing certificate file") {
    CHECK_THROWS_WITH(parse_kubeconfig(kubeconfig("    certificate-authority: /nonexistent/ca.crt\n", ""), "cfg", ""),
                      Contains("certificate-authority: cannot read /nonexistent/ca.crt"));
  }
  SECTION("a certificate without its key") {
    CHECK_THROWS_WITH(parse_kubeconfig(kubeconfig("", "    client-certificate-data: " + kCertData + "\n"), "cfg", ""),
                      Contains("needs its key"));
  }
  SECTION("exec plugins are refused clearly") {
    CHECK_THROWS_WITH(parse_kubeconfig(kubeconfig("", "    exec:\n      command: aws\n"), "cfg", ""),
                      Contains("users[alice].user.exec: credential plugins (exec) are not supported"));
  }
  SECTION("plain http") {
    const std::string text = "clusters:\n- name: c\n  cluster:\n    server: http://x\ncontexts:\n- name: k\n  context:\n"
                             "    cluster: c\ncurrent-context: k\n";
    CHECK_THROWS_WITH(parse_kubeconfig(text, "cfg", ""), Contains("cfg:4: clusters[c].cluster.server: expected an https://"));
  }
  SECTION("no current context") {
    CHECK_THROWS_WITH(parse_kubeconfig("clusters: []\n", "cfg", ""), Contains("current-context is not set"));
  }
  SECTION("not YAML") {
    CHECK_THROWS_AS(parse_kubeconfig("clusters: [\n", "cfg", ""), KubeconfigError);
  }
}

TEST_CASE("credentials are found as kubectl finds them") {
  TempDir dir;
  const auto first = dir.write("first", kubeconfig("", "    token: from-first\n"));
  dir.write("second", kubeconfig("", "    token: from-second\n"));
  SECTION("--kubeconfig wins over KUBECONFIG") {
    const auto second = (dir.path / "second").string();
    CHECK(load_credentials({second, ""}, Environment{{"KUBECONFIG", first}}).bearer_token == "from-second");
  }
  SECTION("the first file of KUBECONFIG") {
    const Environment environment{{"KUBECONFIG", first + ":" + (dir.path / "second").string()}};
    CHECK(load_credentials({}, environment).bearer_token == "from-first");
  }
  SECTION("~/.kube/config") {
    std::filesystem::create_directories(dir.path / ".kube");
    dir.write(".kube/config", kubeconfig("", "    token: from-home\n"));
    CHECK(load_credentials({}, Environment{{"HOME", dir.path.string()}}).bearer_token == "from-home");
  }
  SECTION("a missing --kubeconfig file is an error, not a fallback") {
    CHECK_THROWS_WITH(load_credentials({(dir.path / "missing").string(), ""}, Environment{{"KUBECONFIG", first}}),
                      Contains("kubeconfig: cannot read"));
  }
  SECTION("nothing at all") {
    CHECK_THROWS_WITH(load_credentials({}, Environment{{"HOME", dir.path.string()}}), Contains("no kubeconfig"));
  }
}

TEST_CASE("in a pod, the service account gives the token, CA and namespace") {
  TempDir dir;
  dir.write("token", "sa-token\n");
  dir.write("ca.crt", "SA-CA");
  dir.write("namespace", "monitoring");
  const auto credentials = sluice::kube::in_cluster_credentials(
      dir.path.string(), Environment{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  CHECK(credentials.server == "https://10.96.0.1:443");
  CHECK(credentials.bearer_token == "sa-token");
  CHECK(credentials.bearer_token_file == (dir.path / "token").string());
  CHECK(credentials.certificate_authority_pem == "SA-CA");
  CHECK(credentials.default_namespace == "monitoring");
  CHECK(credentials.context == "in-cluster");
  CHECK_THROWS_WITH(sluice::kube::in_cluster_credentials(dir.path.string(), Environment{}),
                    Contains("KUBERNETES_SERVICE_HOST"));
}

TEST_CASE("base64 decoding is strict") {
  CHECK(decode_base64("aGVsbG8=", "x") == "hello");
  CHECK(decode_base64("aGVs\nbG8=", "x") == "hello");
  CHECK(decode_base64("", "x").empty());
  CHECK_THROWS_AS(decode_base64("aGVsbG8", "x"), KubeconfigError);
  CHECK_THROWS_AS(decode_base64("aGV=bG8=", "x"), KubeconfigError);
  CHECK_THROWS_AS(decode_base64("aGVsbG8-", "x"), KubeconfigError);
}
