// sluice-kube's tools: the diagnostics an on-call engineer runs (read tools) and the
// few changes remediation needs (mutating tools, each with dryRun). Every tool's
// result is compact text for a model plus structuredContent; every failure is an
// isError result with the API's reason.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/kube_api.h"
#include "kube/mcp_server.h"

namespace sluice::kube {

struct ToolOptions {
  bool read_only = false;                 // --read-only: mutating tools are not offered at all
  std::set<std::string> allowed_namespaces;  // --namespaces: empty means every namespace
  std::size_t max_log_bytes = 64 * 1024;
};

// The arguments of one call, read with their types checked; a wrong type is a
// ToolError that names the argument.
class Arguments {
 public:
  explicit Arguments(const json& arguments) : arguments_(arguments) {}
  [[nodiscard]] std::string string(const char* name) const;  // required, non-empty
  [[nodiscard]] std::optional<std::string> optional_string(const char* name) const;
  [[nodiscard]] std::optional<long long> optional_integer(const char* name, long long min, long long max) const;
  [[nodiscard]] bool flag(const char* name) const;  // absent: false

 private:
  const json& arguments_;
};

// What every tool shares: the API, the options, and the namespace rules.
class ToolContext {
 public:
  ToolContext(KubeApi& api, ToolOptions options) : api_(&api), options_(std::move(options)) {}
  // A server without usable credentials still lists its tools; every call answers
  // with the reason, so that the client sees it.
  ToolContext(std::string unavailable, ToolOptions options)
      : unavailable_(std::move(unavailable)), options_(std::move(options)) {}

  KubeApi& api() const;
  [[nodiscard]] const ToolOptions& options() const { return options_; }
  // The call's namespace (argument or the context's default), refused when outside
  // --namespaces.
  [[nodiscard]] std::string namespace_of(const Arguments& arguments) const;
  // Empty when the call asked for all namespaces; refused when --namespaces is set.
  [[nodiscard]] std::string list_namespace(const Arguments& arguments) const;
  void check_namespace(const std::string& ns) const;

 private:
  KubeApi* api_ = nullptr;
  std::string unavailable_;
  ToolOptions options_;
};

json text_result(std::string text, json structured);
// Columns padded as kubectl pads them.
std::string format_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);
// One input-schema property.
struct Property {
  const char* name;
  const char* type;  // "string", "integer", "boolean"
  const char* description;
  bool required = false;
};
json input_schema(const std::vector<Property>& properties);
// The properties most tools share.
Property namespace_property();
Property all_namespaces_property();
Property dry_run_property();

std::vector<Tool> read_tools(ToolContext& context);
std::vector<Tool> mutating_tools(ToolContext& context);

}  // namespace sluice::kube
