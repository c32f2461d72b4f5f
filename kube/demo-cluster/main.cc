// sluice-demo-cluster: a small Kubernetes API server with sample data that the real
// kubectl and sluice-kube accept, for the demo and the tests.
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <boost/asio/signal_set.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "kube/demo-cluster/api_server.h"
#include "kube/demo-cluster/certificates.h"
#include "kube/demo-cluster/https_server.h"
#include "kube/demo-cluster/sample_data.h"
#include "mcp/asio.h"

namespace {

using namespace sluice;
using namespace sluice::kube::demo;

constexpr const char* kUsage = R"(usage: sluice-demo-cluster [--listen HOST:PORT] [--write-kubeconfig FILE] [--log-level LEVEL]

A small Kubernetes API server for demos and tests: HTTPS with a CA and a client
certificate generated at start, sample namespaces, deployments, pods (one
crash-looping, one pending), services, nodes, events and a Secret. The real kubectl
works against it (get, describe, logs, scale, rollout restart, delete, apply).
State lives in memory for the life of the process.

  --listen HOST:PORT       address to serve on (default 127.0.0.1:0; port 0 picks a
                           free port)
  --write-kubeconfig FILE  write a kubeconfig for the server: context sluice-demo
                           (admin, client certificate) and sluice-demo-viewer
                           (read-only, bearer token, no Secrets)
  --log-level LEVEL        trace, debug, info (default), warn, error

Once serving, one line is printed on stdout:
  serving https://HOST:PORT
)";

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string random_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  for (const unsigned char byte : bytes) {
    token.push_back(hex[byte >> 4]);
    token.push_back(hex[byte & 15]);
  }
  return token;
}

void write_kubeconfig(const std::string& path, const std::string& server, const DemoPki& pki,
                      const std::string& viewer_token) {
  const std::string temporary = path + ".tmp";
  {
    // The file holds a private key: readable by its owner only, from the first byte.
    const mode_t previous = ::umask(077);
    std::ofstream out(temporary, std::ios::trunc);
    ::umask(previous);
    if (!out) throw std::runtime_error("--write-kubeconfig: cannot write " + temporary);
    out << "apiVersion: v1\nkind: Config\n"
        << "clusters:\n- name: sluice-demo\n  cluster:\n    server: " << server
        << "\n    certificate-authority-data: " << base64(pki.ca.certificate_pem) << "\n"
        << "users:\n- name: demo-admin\n  user:\n    client-certificate-data: " << base64(pki.client.certificate_pem)
        << "\n    client-key-data: " << base64(pki.client.private_key_pem) << "\n"
        << "- name: " << kViewerUser << "\n  user:\n    token: " << viewer_token << "\n"
        << "contexts:\n- name: sluice-demo\n  context:\n    cluster: sluice-demo\n    user: demo-admin\n"
        << "    namespace: production\n"
        << "- name: sluice-demo-viewer\n  context:\n    cluster: sluice-demo\n    user: " << kViewerUser
        << "\n    namespace: production\n"
        << "current-context: sluice-demo\n";
    if (!out.flush()) throw std::runtime_error("--write-kubeconfig: cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("--write-kubeconfig: cannot rename " + temporary + " to " + path);
  }
}

int run(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string kubeconfig;
  std::string log_level = "info";
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(argument + " needs a value");
      return argv[++i];
    };
    if (argument == "--listen") listen = value();
    else if (argument == "--write-kubeconfig") kubeconfig = value();
    else if (argument == "--log-level") log_level = value();
    else if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      throw std::invalid_argument("unknown option \"" + argument + "\"");
    }
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("sluice-demo-cluster"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  ::signal(SIGPIPE, SIG_IGN);

  const DemoPki pki = generate_pki("demo-admin", kAdminGroup);
  const std::string viewer_token = random_token();
  ClusterState state(demo_images());
  load_sample_data(state);
  ApiServer api(state);

  asio::io_context io;
  HttpsServer server(io, listen, {pki, viewer_token}, api);
  const std::string host = listen.substr(0, listen.rfind(':'));
  const std::string address = host + ":" + std::to_string(server.port());
  api.set_server_address(address);
  if (!kubeconfig.empty()) write_kubeconfig(kubeconfig, "https://" + address, pki, viewer_token);
  server.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::cout << "serving https://" << address << std::endl;
  spdlog::info("serving https://{}{}", address, kubeconfig.empty() ? "" : "; kubeconfig " + kubeconfig);
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::invalid_argument& error) {
    std::cerr << "sluice-demo-cluster: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "sluice-demo-cluster: " << error.what() << "\n";
    return 1;
  }
}
