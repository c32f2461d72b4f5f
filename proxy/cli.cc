#include "proxy/cli.h"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "proxy/logging.h"
#include "proxy/run_command.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view main_help = R"(sluice - a governance proxy for the Model Context Protocol

Usage:
  sluice [global options] <command> [options]

Commands:
  run       relay MCP between a client on stdin/stdout and an upstream server
  version   print the version
  help      show help for a command: sluice help run

Global options:
  --log-level LEVEL    trace, debug, info, warn, error or off (default: info)
  --log-format FORMAT  text or json (default: text); logs always go to stderr
  -h, --help           show this help
  --version            print the version
)";

constexpr std::string_view run_help = R"(Usage:
  sluice run [options] -- COMMAND [ARGS...]

Relays MCP between the client that started Sluice (on Sluice's stdin and stdout)
and the upstream MCP server COMMAND, started as a child process with pipes. The
upstream's stderr is logged with the prefix "upstream stderr:".

When the client closes Sluice's stdin, Sluice closes the upstream's stdin, waits
the shutdown grace for it to exit, then sends SIGTERM, then SIGKILL. When the
upstream exits first, every request still in flight gets a JSON-RPC error
(code -31001) and Sluice exits with status 1.

Options:
  --max-message-bytes N   largest message accepted from either side, in bytes;
                          suffixes KiB and MiB allowed (default: 64MiB)
  --shutdown-grace TIME   time the upstream gets to exit at each step of the
                          shutdown, e.g. 500ms, 5s, 1m (default: 5s)
  -h, --help              show this help

Example:
  sluice run -- npx -y @modelcontextprotocol/server-everything
)";

constexpr std::string_view version_help = R"(Usage:
  sluice version

Prints the version of Sluice.
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::size_t parse_byte_size(std::string_view option, std::string_view text) {
  std::size_t multiplier = 1;
  auto number = text;
  for (const auto& [suffix, factor] : {std::pair<std::string_view, std::size_t>{"MiB", 1 << 20},
                                       std::pair<std::string_view, std::size_t>{"KiB", 1 << 10}}) {
    if (number.ends_with(suffix)) {
      number.remove_suffix(suffix.size());
      multiplier = factor;
      break;
    }
  }
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size() || value == 0 ||
      value > (std::size_t{1} << 40) / multiplier) {
    throw UsageError(std::string(option) + ": expected a positive size such as 1048576, 512KiB or 64MiB, got \"" +
                     std::string(text) + "\"");
  }
  return value * multiplier;
}

std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text) {
  std::int64_t factor = 0;
  auto number = text;
  for (const auto& [suffix, millis] : {std::pair<std::string_view, std::int64_t>{"ms", 1},
                                       std::pair<std::string_view, std::int64_t>{"s", 1000},
                                       std::pair<std::string_view, std::int64_t>{"m", 60000}}) {
    if (number.ends_with(suffix)) {
      number.remove_suffix(suffix.size());
      factor = millis;
      break;
    }
  }
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (factor == 0 || error != std::errc() || end != number.data() + number.size() || value < 0 ||
      value > 24 * 3600 * 1000 / factor) {
    throw UsageError(std::string(option) + ": expected a duration such as 500ms, 5s or 1m, got \"" +
                     std::string(text) + "\"");
  }
  return std::chrono::milliseconds(value * factor);
}

// Walks the arguments of one command: flags with values, then `--` and the rest.
class Arguments {
 public:
  explicit Arguments(std::span<char*> args) : args_(args) {}

  [[nodiscard]] bool done() const { return index_ >= args_.size(); }
  [[nodiscard]] std::string_view peek() const { return args_[index_]; }
  std::string_view take() { return args_[index_++]; }

  std::string_view value_of(std::string_view option) {
    if (done()) throw UsageError(std::string(option) + " needs a value");
    return take();
  }

  std::vector<std::string> rest() {
    std::vector<std::string> out;
    while (!done()) out.emplace_back(take());
    return out;
  }

 private:
  std::span<char*> args_;
  std::size_t index_ = 0;
};

struct GlobalOptions {
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
};

int print(std::string_view text) {
  std::cout << text;
  return 0;
}

int run_command(Arguments& args) {
  RunOptions options;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--") {
      options.upstream_command = args.rest();
    } else if (arg == "-h" || arg == "--help") {
      return print(run_help);
    } else if (arg == "--max-message-bytes") {
      options.limits.max_message_bytes = parse_byte_size(arg, args.value_of(arg));
    } else if (arg == "--shutdown-grace") {
      options.shutdown_grace = parse_duration(arg, args.value_of(arg));
    } else {
      throw UsageError("run: unknown option \"" + std::string(arg) +
                       "\"; the upstream command goes after --, as in: sluice run -- COMMAND ARGS");
    }
  }
  if (options.upstream_command.empty()) {
    throw UsageError("run: no upstream given; name the MCP server after --, as in: sluice run -- COMMAND ARGS");
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
  if (command == "run") return run_command(args);
  if (command == "version") {
    if (!args.done() && (args.peek() == "-h" || args.peek() == "--help")) return print(version_help);
    return print("sluice " SLUICE_VERSION "\n");
  }
  if (command == "help") {
    if (args.done()) return print(main_help);
    const auto topic = args.take();
    if (topic == "run") return print(run_help);
    if (topic == "version") return print(version_help);
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
