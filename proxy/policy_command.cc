#include "proxy/policy_command.h"

#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/config_loader.h"
#include "policy/engine.h"
#include "policy/tool_catalog.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view policy_usage = R"(Usage:
  sluice policy check FILE
  sluice policy explain --config FILE --tool NAME [--args JSON]
                        [--annotations JSON] [--input-schema JSON] [--changed]
                        [--principal NAME]

check    Loads FILE as Sluice would and prints the configuration as understood,
         defaults filled in. Exit 0 if valid; else prints each problem with its
         file, line and key, and exits 1.

explain  Decides one tools/call as `sluice run` would, and says why: the
         classification and where it came from, the namespaces found, and for
         every rule up to the deciding one, whether it matched or why not.
           --tool NAME          the tool called
           --args JSON          its arguments (default: {})
           --annotations JSON   the tool's annotations as the server declares
                                them, e.g. '{"readOnlyHint":true}'
           --input-schema JSON  the tool's input schema (tells whether the tool
                                takes a namespace or a dry-run argument)
           --changed            the tool differs from its pin
           --principal NAME     who calls (default: local)
         Use FILE "-" for the built-in default policy.
)";

int check(Arguments& args) {
  if (args.done()) throw UsageError("policy check: name the file to check: sluice policy check FILE");
  const std::string file(args.take());
  if (!args.done()) unknown_option("policy check", args.peek());
  try {
    const auto config = policy::load_config_file(file);
    std::cout << "# " << file << ": valid\n" << policy::to_yaml(config);
    return 0;
  } catch (const policy::ConfigError& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}

nlohmann::json json_option(std::string_view option, std::string_view text, bool object_only) {
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded() || (object_only && !value.is_object())) {
    throw UsageError(std::string(option) + ": expected a JSON object, got " + std::string(text));
  }
  return value;
}

int explain(Arguments& args) {
  std::optional<std::string> file;
  std::optional<std::string> tool;
  nlohmann::json arguments = nlohmann::json::object();
  nlohmann::json definition = nlohmann::json::object();
  bool changed = false;
  std::string principal = "local";
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--config") {
      file = args.value_of(arg);
    } else if (arg == "--tool") {
      tool = args.value_of(arg);
    } else if (arg == "--args") {
      arguments = json_option(arg, args.value_of(arg), true);
    } else if (arg == "--annotations") {
      definition["annotations"] = json_option(arg, args.value_of(arg), true);
    } else if (arg == "--input-schema") {
      definition["inputSchema"] = json_option(arg, args.value_of(arg), true);
    } else if (arg == "--changed") {
      changed = true;
    } else if (arg == "--principal") {
      principal = args.value_of(arg);
    } else {
      unknown_option("policy explain", arg);
    }
  }
  if (!file) throw UsageError("policy explain: --config FILE is required (\"-\" for the built-in default)");
  if (!tool) throw UsageError("policy explain: --tool NAME is required");
  const auto config = *file == "-" ? policy::default_config() : policy::load_config_file(*file);
  definition["name"] = *tool;

  const policy::PolicyEngine engine(config.policy);
  const auto classification = policy::classify(*tool, &definition, changed, config.policy);
  bool takes_namespace = false;
  const auto properties = definition.value("inputSchema", nlohmann::json::object()).value("properties", nlohmann::json::object());
  for (const auto& path : config.policy.namespaces.arguments) {
    takes_namespace = takes_namespace || (!path.is_pointer() && properties.contains(path.text()));
  }
  const auto explanation = engine.explain(
      policy::ToolCall{*tool, arguments, config.upstream.name, principal}, classification, takes_namespace);
  const auto& decision = explanation.decision;

  std::cout << "decision: " << policy::to_string(decision.action);
  if (decision.monitor_only) std::cout << " (monitor mode; enforcing would " << policy::to_string(decision.policy_action) << ")";
  std::cout << "\n  rule:      " << decision.rule << "\n  reason:    " << decision.reason
            << "\n  class:     " << policy::to_string(decision.tool_class) << " (from " << decision.class_source << ")"
            << "\n  namespace: ";
  if (explanation.namespaces.empty()) std::cout << "none named";
  for (std::size_t i = 0; i < explanation.namespaces.size(); ++i) std::cout << (i ? ", " : "") << explanation.namespaces[i];
  std::cout << "\n  arguments: sha256 " << decision.arguments_hash << "\n";
  if (decision.rule == "namespaces") {
    std::cout << "the namespace allowlist denied the call before any rule was evaluated\n";
  } else {
    std::cout << "rules, in order:\n";
    for (const auto& trace : explanation.rules) {
      std::cout << "  " << (trace.matched ? "MATCH    " : "no match ") << trace.rule->name << " (line " << trace.rule->line
                << ")";
      if (!trace.matched) std::cout << ": " << trace.why_not;
      std::cout << '\n';
    }
    if (decision.rule == "default") std::cout << "  no rule matched: policy.default is " << policy::to_string(decision.policy_action) << '\n';
  }
  if (config.policy.mode == policy::Mode::dry_run) std::cout << "mode: dry_run\n";
  return 0;
}

}  // namespace

std::string_view policy_help() { return policy_usage; }

int policy_command(Arguments& args) {
  int status = 0;
  const auto verb = take_verb(args, policy_usage, status);
  if (!verb) return status;
  if (*verb == "check") return check(args);
  if (*verb == "explain") return explain(args);
  throw UsageError("policy: unknown command \"" + std::string(*verb) + "\"; expected check or explain");
}

}  // namespace sluice::proxy
