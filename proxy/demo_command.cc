#include "proxy/demo_command.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/digest.h"
#include "mcp/random_id.h"
#include "policy/config_loader.h"
#include "proxy/bundled_binary.h"
#include "proxy/demo_agent.h"
#include "proxy/demo_cluster.h"
#include "proxy/demo_policy.h"
#include "proxy/run_command.h"
#include "webui/password.h"

namespace sluice::proxy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view demo_usage = R"(Usage:
  sluice demo [--dir DIR] [--agent] [--listen ADDR:PORT] [--ui ADDR:PORT]

Runs the whole product on this machine, with nothing to configure:
  - sluice-demo-cluster, a small Kubernetes API server with a crash-looping
    `checkout` deployment in `production` (docs/kube-tools.md);
  - Sluice in front of sluice-kube (the bundled Kubernetes MCP server), serving
    MCP over Streamable HTTP, with the demo policy: reads run, deletions are
    denied, changes in `staging` are dry-run, changes in `production` wait for
    an approver; clients present a bearer token (made up now and printed) that
    names them `oncall-agent`;
  - the approval web UI, with one approver whose password is made up now and
    printed;
  - the audit log, an SQLite file in DIR.
It prints the MCP endpoint, the web UI's address and login, and what to try.
DIR also gets sluice.yaml (the configuration it runs), the kubeconfig of the
demo cluster and its log. Ctrl-C stops everything and prints how to verify the
audit log.

Options:
  --dir DIR           where the demo keeps its files (default: a new directory
                      sluice-demo-DATE-TIME under the current one); an existing
                      DIR is reused and its audit log continued
  --agent             also run a scripted on-call agent (an MCP client, no model)
                      that diagnoses the incident and asks to restart checkout:
                      approve it in the web UI
  --listen ADDR:PORT  the MCP endpoint (default: 127.0.0.1:8765; port 0: any)
  --ui ADDR:PORT      the web UI (default: 127.0.0.1:8766; port 0: any)
  -h, --help          show this help
)";

constexpr const char* approver = "demo-approver";
constexpr const char* agent_principal = "oncall-agent";

// Made up at every start, printed once.
struct Logins {
  std::string approver_password;
  std::string agent_token;
};
constexpr std::chrono::seconds cluster_deadline{20};

// sluice-demo-20261202-061500 in the current directory; -2, -3… when taken.
fs::path new_demo_dir() {
  const auto now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "sluice-demo-%Y%m%d-%H%M%S", &utc);
  for (int attempt = 1;; ++attempt) {
    auto dir =
        fs::absolute(attempt == 1 ? std::string(stamp) : std::string(stamp) + "-" + std::to_string(attempt));
    if (fs::create_directory(dir)) return dir;
  }
}

fs::path bundled(std::string_view name) {
  auto path = installed_next_to_sluice(name);
  if (!path) {
    throw std::runtime_error("demo: " + std::string(name) + " is not installed next to sluice (" +
                             expected_next_to_sluice(name).string() + "); build it: cmake --build build");
  }
  return *path;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("demo: cannot write " + path.string());
}

// Claude Desktop starts its servers itself, on stdio: a Sluice of its own with the
// same policy, its own audit log (one writer per log) and its own web UI.
std::string claude_desktop_config(const fs::path& sluice, const fs::path& config) {
  const nlohmann::json snippet = {
      {"mcpServers",
       {{"kubernetes-through-sluice",
         {{"command", sluice.string()}, {"args", {"run", "--config", config.string()}}}}}}};
  return snippet.dump(2) + "\n";
}

std::string indented(const std::string& text, const std::string& margin) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto stop = end == std::string::npos ? text.size() : end;
    out += margin + text.substr(start, stop - start) + "\n";
    start = stop + 1;
  }
  return out;
}

// The Inspector CLI, run from the directory above sluice's own (build/ of the
// repository): inspector-cli 1.0.3 finds its package.json only when the current
// directory's parent has one, and npx finds the repository's node_modules from there.
std::string inspector(const fs::path& sluice, const ServingAt& at, const Logins& logins,
                      const std::string& method) {
  return "(cd " + sluice.parent_path().parent_path().string() +
         " && npx @modelcontextprotocol/inspector-cli --cli " + at.mcp_url +
         " --transport http --header \"Authorization: Bearer " + logins.agent_token + "\" --method " +
         method + ")";
}

void print_banner(const ServingAt& at, const fs::path& dir, const fs::path& sluice, const Logins& logins,
                  bool agent) {
  std::cout << "\nSluice demo is running. Files: " << dir.string() << "\n\n"
            << "  MCP endpoint (Streamable HTTP): " << at.mcp_url << "\n"
            << "  Bearer token (" << agent_principal << "):    " << logins.agent_token << "\n"
            << "  Approval web UI:                " << at.ui_url << "\n"
            << "  Login:                          " << approver << " / " << logins.approver_password << "\n"
            << "  Audit log:                      " << (dir / "audit.db").string() << "\n\n"
            << "The policy (" << (dir / "sluice.yaml").string() << "): reads run; deletions are denied;\n"
            << "changes in staging are dry-run; changes in production wait for an approver.\n\n"
            << "Try this:\n"
            << "  1. Open the web UI above and log in.\n"
            << "  2. List the tools, then call one, through Sluice, with the MCP Inspector CLI:\n"
            << "       " << inspector(sluice, at, logins, "tools/list") << "\n"
            << "       "
            << inspector(sluice, at, logins,
                         "tools/call --tool-name pods_list --tool-arg namespace=production")
            << "\n"
            << "  3. Ask for a change in production; it waits until you approve it in the web UI\n"
            << "     (within a minute: the Inspector gives up waiting after 60 s):\n"
            << "       "
            << inspector(
                   sluice, at, logins,
                   "tools/call --tool-name deployments_scale --tool-arg namespace=production name=frontend "
                   "replicas=3")
            << "\n"
            << "  4. Read the audit trail: " << sluice.string() << " audit tail --db "
            << (dir / "audit.db").string() << "\n"
            << "  5. Claude Desktop starts its servers itself: this ("
            << (dir / "claude_desktop_config.json").string() << ")\n"
            << "     runs a Sluice of its own on stdio with the same policy; merge it into your\n"
            << "     claude_desktop_config.json while the demo runs:\n"
            << indented(claude_desktop_config(sluice, dir / "sluice-desktop.yaml"), "       ");
  if (!agent) std::cout << "  6. Watch an on-call agent work the incident: sluice demo --agent\n";
  std::cout << "\nCtrl-C stops the demo.\n" << std::endl;
}

}  // namespace

std::string_view demo_help() { return demo_usage; }

int demo_command(Arguments& args) {
  fs::path dir;
  bool agent = false;
  std::string listen_address = "127.0.0.1:8765";
  std::string ui_address = "127.0.0.1:8766";
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "-h" || arg == "--help") {
      std::cout << demo_usage;
      return 0;
    }
    if (arg == "--dir") {
      dir = std::string(args.value_of(arg));
    } else if (arg == "--agent") {
      agent = true;
    } else if (arg == "--listen") {
      listen_address = args.value_of(arg);
    } else if (arg == "--ui") {
      ui_address = args.value_of(arg);
    } else {
      unknown_option("demo", arg);
    }
  }
  if (dir.empty()) {
    dir = new_demo_dir();
  } else {
    fs::create_directories(dir);
    dir = fs::absolute(dir);
  }
  const auto sluice = bundled("sluice");
  const auto kube = bundled("sluice-kube");
  const auto cluster_program = bundled("sluice-demo-cluster");

  const auto password = mcp::random_hex(6);
  // Only the digest goes into the file; the token itself is printed, for the clients.
  const auto token = mcp::random_hex(16);
  DemoSetup setup{kube,           dir / "kubeconfig", dir / "audit.db",
                  listen_address, agent_principal,    mcp::sha256_hex(token),
                  ui_address,     approver,           webui::hash_password(password)};
  write_file(dir / "sluice.yaml", demo_config_yaml(setup));
  DemoSetup desktop = setup;
  desktop.audit_db = dir / "audit-desktop.db";
  desktop.listen_address.clear();
  desktop.ui_address = "127.0.0.1:8767";
  write_file(dir / "sluice-desktop.yaml", demo_config_yaml(desktop));
  write_file(dir / "claude_desktop_config.json", claude_desktop_config(sluice, dir / "sluice-desktop.yaml"));

  RunOptions options;
  options.config = policy::load_config_file((dir / "sluice.yaml").string());
  DemoCluster cluster(cluster_program, setup.kubeconfig, dir / "demo-cluster.log", cluster_deadline);
  std::cout << "demo cluster serving " << cluster.url() << " (kubeconfig " << setup.kubeconfig.string() << ")"
            << std::endl;

  options.on_serving = [&](asio::io_context& io, const ServingAt& at) {
    print_banner(at, dir, sluice, Logins{password, token}, agent);
    if (agent) {
      asio::co_spawn(
          io,
          run_demo_agent(DemoAgentOptions{at.mcp_url, token, at.ui_url, approver, setup.audit_db.string()},
                         std::cout),
          asio::detached);
    }
  };
  const int status = run_proxy(options);
  cluster.stop();
  std::cout << "\nThe demo has stopped. Everything Sluice decided is in the audit log "
            << setup.audit_db.string() << "\nVerify its hash chain:\n  " << sluice.string()
            << " audit verify --db " << setup.audit_db.string() << "\nRead it:\n  " << sluice.string()
            << " audit tail --db " << setup.audit_db.string() << std::endl;
  return status;
}

}  // namespace sluice::proxy
