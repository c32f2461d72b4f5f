// sluice-kube: the bundled Kubernetes MCP server, on stdio.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "kube/kube_api.h"
#include "kube/mcp_server.h"
#include "kube/rest_client.h"
#include "kube/tools.h"
#include "mcp/stream_transport.h"

namespace {

using namespace sluice;
using namespace sluice::kube;

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage = R"(usage: sluice-kube [options]

The Kubernetes MCP server bundled with Sluice, on stdin/stdout. It talks to the
Kubernetes API directly (no kubectl): read tools for diagnosis, mutating tools with
dryRun for remediation. Secret values never leave it; it never returns credentials.

  --kubeconfig FILE        kubeconfig to use (default: first file of $KUBECONFIG,
                           then ~/.kube/config, then the pod's service account)
  --context NAME           kubeconfig context (default: current-context)
  --read-only              offer only the read tools
  --namespaces A,B         refuse every call outside these namespaces (and
                           all-namespace lists)
  --request-timeout SECS   deadline for each API request (default 30); connecting
                           and the TLS handshake get at most 10 s of it
  --log-level LEVEL        trace, debug, info (default), warn, error; logs go to stderr
  --version, --help

Tools: docs/kube-tools.md.
)";

struct Options {
  CredentialOptions credentials;
  ToolOptions tools;
  int request_timeout_seconds = 30;
  std::string log_level = "info";
};

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(argument + " needs a value");
      return argv[++i];
    };
    if (argument == "--kubeconfig") {
      options.credentials.kubeconfig = value();
    } else if (argument == "--context") {
      options.credentials.context = value();
    } else if (argument == "--read-only") {
      options.tools.read_only = true;
    } else if (argument == "--namespaces") {
      std::stringstream list(value());
      for (std::string name; std::getline(list, name, ',');) {
        if (!name.empty()) options.tools.allowed_namespaces.insert(name);
      }
    } else if (argument == "--request-timeout") {
      const std::string text = value();
      try {
        options.request_timeout_seconds = std::stoi(text);
      } catch (const std::exception&) {
        options.request_timeout_seconds = 0;
      }
      if (options.request_timeout_seconds <= 0) throw std::invalid_argument("--request-timeout: expected seconds, got " + text);
    } else if (argument == "--log-level") {
      options.log_level = value();
    } else if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return std::nullopt;
    } else if (argument == "--version") {
      std::cout << "sluice-kube " << kVersion << "\n";
      return std::nullopt;
    } else {
      throw std::invalid_argument("unknown option \"" + argument + "\"");
    }
  }
  return options;
}

int run(const Options& options) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("sluice-kube"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  ::signal(SIGPIPE, SIG_IGN);

  asio::io_context io;
  const auto executor = io.get_executor();
  std::unique_ptr<RestClient> client;
  std::unique_ptr<KubeApi> api;
  std::string unavailable;
  try {
    auto credentials = load_credentials(options.credentials, process_environment());
    spdlog::info("cluster {} (context {} from {}), default namespace {}", credentials.server, credentials.context,
                 credentials.source, credentials.default_namespace);
    RestClientOptions rest;
    rest.request_timeout = std::chrono::seconds(options.request_timeout_seconds);
    rest.connect_timeout = std::min(rest.connect_timeout, rest.request_timeout);
    client = std::make_unique<RestClient>(executor, std::move(credentials), rest);
    api = std::make_unique<KubeApi>(*client);
  } catch (const KubeconfigError& error) {
    // Still serve: the client then sees why every call fails instead of a server that vanished.
    unavailable = std::string("sluice-kube has no usable cluster credentials: ") + error.what();
    spdlog::error("{}", unavailable);
  }
  ToolContext context = api ? ToolContext(*api, options.tools) : ToolContext(unavailable, options.tools);
  std::vector<Tool> tools = read_tools(context);
  if (!options.tools.read_only) {
    for (auto& tool : mutating_tools(context)) tools.push_back(std::move(tool));
  }
  mcp::StreamTransport transport(executor, ::dup(STDIN_FILENO), ::dup(STDOUT_FILENO), std::size_t{16} << 20);
  McpServer server(executor, transport,
                   {"sluice-kube", kVersion,
                    "Kubernetes diagnostics and remediation. Start with pods_list or events_list (warningsFirst), read "
                    "pods_log (previous=true for a crash loop) and deployments_describe; mutating tools take dryRun."},
                   std::move(tools));
  asio::co_spawn(io, server.run(), [&](const std::exception_ptr& error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("server stopped: {}", e.what());
      }
    }
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto options = parse_options(argc, argv);
    if (!options) return 0;
    return run(*options);
  } catch (const std::invalid_argument& error) {
    std::cerr << "sluice-kube: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "sluice-kube: " << error.what() << "\n";
    return 1;
  }
}
