#include "kube/tools.h"

#include <algorithm>

namespace sluice::kube {

std::string Arguments::string(const char* name) const {
  auto value = optional_string(name);
  if (!value || value->empty()) throw ToolError(std::string("argument ") + name + " is required (a non-empty string)");
  return *value;
}

std::optional<std::string> Arguments::optional_string(const char* name) const {
  const auto found = arguments_.find(name);
  if (found == arguments_.end() || found->is_null()) return std::nullopt;
  if (!found->is_string()) throw ToolError(std::string("argument ") + name + " must be a string");
  return found->get<std::string>();
}

std::optional<long long> Arguments::optional_integer(const char* name, long long min, long long max) const {
  const auto found = arguments_.find(name);
  if (found == arguments_.end() || found->is_null()) return std::nullopt;
  if (!found->is_number_integer() || found->get<long long>() < min || found->get<long long>() > max) {
    throw ToolError(std::string("argument ") + name + " must be an integer from " + std::to_string(min) + " to " +
                    std::to_string(max));
  }
  return found->get<long long>();
}

bool Arguments::flag(const char* name) const {
  const auto found = arguments_.find(name);
  if (found == arguments_.end() || found->is_null()) return false;
  if (!found->is_boolean()) throw ToolError(std::string("argument ") + name + " must be true or false");
  return found->get<bool>();
}

KubeApi& ToolContext::api() const {
  if (api_ == nullptr) throw ToolError(unavailable_);
  return *api_;
}

void ToolContext::check_namespace(const std::string& ns) const {
  if (options_.allowed_namespaces.empty() || options_.allowed_namespaces.count(ns) != 0) return;
  std::string allowed;
  for (const auto& name : options_.allowed_namespaces) allowed += (allowed.empty() ? "" : ", ") + name;
  throw ToolError("namespace \"" + ns + "\" is outside the namespaces this server may use (" + allowed + ")");
}

std::string ToolContext::namespace_of(const Arguments& arguments) const {
  auto ns = arguments.optional_string("namespace").value_or("");
  if (ns.empty()) ns = api().credentials().default_namespace;
  check_namespace(ns);
  return ns;
}

std::string ToolContext::list_namespace(const Arguments& arguments) const {
  if (!arguments.flag("allNamespaces")) return namespace_of(arguments);
  if (!options_.allowed_namespaces.empty()) {
    throw ToolError("allNamespaces is not available: this server is limited to some namespaces; name one");
  }
  return {};
}

json text_result(std::string text, json structured) {
  json result = {{"content", {{{"type", "text"}, {"text", std::move(text)}}}}};
  if (!structured.is_null()) result["structuredContent"] = std::move(structured);
  return result;
}

std::string format_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = headers[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - cells[i].size() + 3, ' ');
    }
    text += "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
  return text;
}

json input_schema(const std::vector<Property>& properties) {
  json schema = {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
  json required = json::array();
  for (const auto& property : properties) {
    schema["properties"][property.name] = {{"type", property.type}, {"description", property.description}};
    if (property.required) required.push_back(property.name);
  }
  if (!required.empty()) schema["required"] = required;
  return schema;
}

Property namespace_property() {
  return {"namespace", "string", "Namespace; default: the namespace of the kubeconfig context"};
}

Property all_namespaces_property() { return {"allNamespaces", "boolean", "List across all namespaces"}; }

Property dry_run_property() {
  return {"dryRun", "boolean",
          "Validate and show the result on the server (dryRun=All) without changing anything"};
}

}  // namespace sluice::kube
