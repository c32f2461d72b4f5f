#include "proxy/cli.h"

#include <iostream>
#include <string>
#include <string_view>

#include "policy/config_loader.h"
#include "proxy/arguments.h"
#include "proxy/approvals_command.h"
#include "proxy/audit_command.h"
#include "proxy/bundled_binary.h"
#include "proxy/demo_command.h"
#include "proxy/event_loop.h"
#include "proxy/logging.h"
#include "proxy/passwd_command.h"
#include "proxy/policy_command.h"
#include "proxy/run_command.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view main_help = R"(sluice - a governance proxy for the Model Context Protocol

Usage:
  sluice [global options] <command> [options]

Commands:
  run       relay MCP between a client (on stdin/stdout, or over HTTP with
            --listen) and an upstream server, governing tools/call with the policy
  demo      the whole product on this machine: a demo Kubernetes cluster, Sluice
            over HTTP, the web UI, an audit log; --agent adds an on-call agent
  policy    check a configuration, or explain a decision: sluice help policy
  audit     read, export and verify the audit log: sluice help audit
  tools     list tool pins, re-pin a changed tool: sluice help tools
  approvals list, approve and deny held calls: sluice help approvals
  passwd    print a password hash for ui.users in the configuration
  version   print the version
  help      show help for a command: sluice help run

Global options:
  --log-level LEVEL    trace, debug, info, warn, error or off (default: info)
  --log-format FORMAT  text or json (default: text); logs always go to stderr
  -h, --help           show this help
  --version            print the version
)";

constexpr std::string_view run_help = R"(Usage:
  sluice run [options] [-- COMMAND [ARGS...]]

Relays MCP between the client that started Sluice (on Sluice's stdin and stdout)
and the upstream MCP server COMMAND (or upstream.command of the configuration,
else the bundled Kubernetes server sluice-kube installed next to sluice),
started as a child process with pipes. The upstream's stderr is logged with the
prefix "upstream stderr:". Every tools/call is decided by the policy before it
is forwarded; without --config the policy is read-only: reads are allowed,
everything else requires approval.

With --listen (or listen.address in the configuration) Sluice serves MCP's
Streamable HTTP transport on ADDR:PORT at listen.path (default /mcp) instead,
and starts one upstream COMMAND per HTTP session. It logs the bound address as
"listening on http://ADDR:PORT/PATH" (https:// with listen.tls); port 0
picks a free port. Without listen.tokens only loopback addresses are allowed.
SIGINT or SIGTERM ends every session and stops their upstreams.

When the client closes Sluice's stdin, Sluice closes the upstream's stdin, waits
the shutdown grace for it to exit, then sends SIGTERM, then SIGKILL. When the
upstream exits first, every request still in flight gets a JSON-RPC error
(code -31001) and Sluice exits with status 1.

Options:
  --config FILE           sluice.yaml: upstream, policy, audit, approval, dry_run (see
                          docs/configuration.md); Sluice refuses to start on an
                          invalid file
  --listen ADDR:PORT      serve Streamable HTTP on this address, such as
                          127.0.0.1:8765 (overrides listen.address)
  --max-message-bytes N   largest message accepted from either side, in bytes;
                          suffixes KiB and MiB allowed (default: 64MiB)
  --shutdown-grace TIME   time the upstream gets to exit at each step of the
                          shutdown, e.g. 500ms, 5s, 1m (default: 5s)
  --busy-poll TIME        after each message, keep polling for up to TIME (1us to
                          10ms, e.g. 50us) before sleeping, instead of sleeping at
                          once (default: off). Saves the cost of waking up, tens of
                          microseconds a message on a virtual machine, but keeps a
                          core busy up to TIME after each message: under steady
                          load up to a whole core. For latency-sensitive use on VMs
                          with slow wake-ups; not on a machine short of CPU
  --ui ADDR:PORT          serve the approval web UI there (overrides ui.address;
                          without ui.users only a loopback address, no login)
  --principal NAME        who the client is, in the audit log and for four eyes
                          (default: the user Sluice runs as); whoever starts
                          Sluice names its caller, e.g. the agent runtime
  -h, --help              show this help

Example:
  sluice run --config examples/policies/read-only.yaml -- npx -y @modelcontextprotocol/server-everything
)";

constexpr std::string_view version_help = R"(Usage:
  sluice version

Prints the version of Sluice.
)";

struct GlobalOptions {
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
};

int print(std::string_view text) {
  std::cout << text;
  return 0;
}

// The default upstream (DESIGN.md): the sluice-kube installed next to this binary.
std::string bundled_kube_server() {
  const auto server = installed_next_to_sluice("sluice-kube");
  if (!server) {
    throw UsageError("run: no upstream given and no bundled sluice-kube next to sluice (" +
                     expected_next_to_sluice("sluice-kube").string() +
                     "); name the MCP server after --, as in: sluice run -- COMMAND ARGS, or set upstream.command in "
                     "the configuration");
  }
  return server->string();
}

int run_subcommand(Arguments& args) {
  RunOptions options;
  options.config = policy::default_config();
  std::vector<std::string> command;
  std::string listen_address;
  std::string ui_address;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--") {
      command = args.rest();
    } else if (arg == "-h" || arg == "--help") {
      return print(run_help);
    } else if (arg == "--config") {
      options.config = policy::load_config_file(std::string(args.value_of(arg)));
    } else if (arg == "--listen") {
      listen_address = args.value_of(arg);
    } else if (arg == "--max-message-bytes") {
      options.limits.max_message_bytes = parse_byte_size(arg, args.value_of(arg));
    } else if (arg == "--shutdown-grace") {
      options.shutdown_grace = parse_duration_option(arg, args.value_of(arg));
    } else if (arg == "--busy-poll") {
      options.busy_poll = parse_busy_poll(arg, args.value_of(arg));
    } else if (arg == "--ui") {
      ui_address = args.value_of(arg);
    } else if (arg == "--principal") {
      options.principal = args.value_of(arg);
      if (options.principal.empty()) throw UsageError("--principal: a name is needed");
    } else {
      unknown_option("run", arg);
    }
  }
  if (!command.empty()) {
    options.config.upstream.command = std::move(command);
    options.config.upstream.url.clear();
  }
  if (!listen_address.empty()) options.config.listen.address = std::move(listen_address);
  if (!ui_address.empty()) {
    if (!options.config.ui) options.config.ui.emplace();
    options.config.ui->address = std::move(ui_address);
  }
  if (options.config.upstream.command.empty() && options.config.upstream.url.empty()) {
    options.config.upstream.command = {bundled_kube_server()};
  }
  return run_proxy(options);
}

int dispatch(Arguments& args) {
  GlobalOptions global;
  while (!args.done() && args.peek().starts_with("-")) {
    const auto arg = args.take();
    if (arg == "-h" || arg == "--help") return print(main_help);
    if (arg == "--version") return print("sluice " SLUICE_VERSION "\n");
    if (arg == "--log-level") {
      global.log_level = args.value_of(arg);
    } else if (arg == "--log-format") {
      global.log_format = parse_log_format(args.value_of(arg));
    } else {
      throw UsageError("unknown option \"" + std::string(arg) + "\"; see sluice --help");
    }
  }
  if (args.done()) {
    std::cerr << main_help;
    return 2;
  }
  configure_logging(global.log_level, global.log_format);
  const auto command = args.take();
  if (command == "run") return run_subcommand(args);
  if (command == "demo") return demo_command(args);
  if (command == "policy") return policy_command(args);
  if (command == "audit") return audit_command(args);
  if (command == "tools") return tools_command(args);
  if (command == "approvals") return approvals_command(args);
  if (command == "passwd") return passwd_command(args);
  if (command == "version") {
    if (args.help_requested()) return print(version_help);
    return print("sluice " SLUICE_VERSION "\n");
  }
  if (command == "help") {
    if (args.done()) return print(main_help);
    const auto topic = args.take();
    if (topic == "run") return print(run_help);
    if (topic == "version") return print(version_help);
    if (topic == "demo") return print(demo_help());
    if (topic == "policy") return print(policy_help());
    if (topic == "audit") return print(audit_help());
    if (topic == "tools") return print(tools_help());
    if (topic == "approvals") return print(approvals_help());
    if (topic == "passwd") return print(passwd_help());
    throw UsageError("help: no command \"" + std::string(topic) + "\"; see sluice --help");
  }
  throw UsageError("unknown command \"" + std::string(command) + "\"; see sluice --help");
}

}  // namespace

int run_cli(int argc, char** argv) {
  Arguments args(std::span<char*>(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0)));
  try {
    return dispatch(args);
  } catch (const UsageError& e) {
    std::cerr << "sluice: " << e.what() << '\n';
    return 2;
  } catch (const std::invalid_argument& e) {  // an option's value, rejected where it is interpreted
    std::cerr << "sluice: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sluice: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace sluice::proxy
