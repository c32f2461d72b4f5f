#include "policy/tool_catalog.h"

#include "mcp/digest.h"

namespace sluice::policy {

std::string tool_definition_hash(const nlohmann::json& tool) {
  nlohmann::json essential = nlohmann::json::object();
  for (const auto* key : {"name", "description", "inputSchema", "annotations"}) {
    if (const auto it = tool.find(key); it != tool.end()) essential[key] = *it;
  }
  return mcp::sha256_hex(mcp::canonical_json(essential));
}

Classification classify(std::string_view tool, const nlohmann::json* definition, bool changed,
                        const PolicyConfig& policy) {
  changed = changed && policy.annotations == AnnotationTrust::pinned;
  if (const auto it = policy.tools.find(tool); it != policy.tools.end()) return {it->second, "policy.tools", changed};
  if (changed) return {ToolClass::changed, "pin", true};
  if (definition != nullptr && policy.annotations != AnnotationTrust::ignore) {
    const auto annotations = definition->find("annotations");
    if (annotations != definition->end() && annotations->is_object()) {
      // MCP's defaults lean unsafe on purpose: readOnlyHint false, destructiveHint true.
      // A hint that is not a boolean is the server's mistake: it counts as absent.
      const auto hint = [&](const char* key, bool absent) {
        const auto it = annotations->find(key);
        return it != annotations->end() && it->is_boolean() ? it->get<bool>() : absent;
      };
      if (hint("readOnlyHint", false)) return {ToolClass::read, "annotations"};
      if (!hint("destructiveHint", true)) return {ToolClass::mutate, "annotations"};
      return {ToolClass::destructive, "annotations"};
    }
  }
  return {ToolClass::mutate, "default"};
}

ToolCatalog::ToolCatalog(const PolicyConfig& policy, PinStore& pins, std::string upstream)
    : policy_(policy), pins_(pins), upstream_(std::move(upstream)) {}

void ToolCatalog::learn(const nlohmann::json& tools, bool first_page, bool last_page) {
  if (first_page) {
    tools_.clear();
    first_listing_ = !pins_.has_pins(upstream_);
  }
  if (!tools.is_array()) return;
  for (const auto& tool : tools) {
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    const auto name = tool["name"].get<std::string>();
    Entry entry{tool, tool_definition_hash(tool), false};
    if (first_listing_) {
      pins_.pin(upstream_, name, entry.hash);
    } else {
      entry.changed = pins_.pinned_hash(upstream_, name) != entry.hash;
      if (entry.changed) pins_.saw_changed(upstream_, name, entry.hash, mcp::canonical_json(tool));
    }
    tools_.insert_or_assign(name, std::move(entry));
  }
  if (last_page) {
    first_listing_ = false;
    stale_ = false;
  }
}

const ToolCatalog::Entry* ToolCatalog::find(std::string_view tool) const {
  const auto it = tools_.find(tool);
  return it == tools_.end() ? nullptr : &it->second;
}

Classification ToolCatalog::classify(std::string_view tool) {
  const auto it = tools_.find(tool);
  if (it == tools_.end()) return policy::classify(tool, nullptr, false, policy_);
  auto& entry = it->second;
  // An operator may have re-pinned it meanwhile (sluice tools pin).
  if (entry.changed) entry.changed = pins_.pinned_hash(upstream_, it->first) != entry.hash;
  return policy::classify(tool, &entry.definition, entry.changed, policy_);
}

bool ToolCatalog::takes_argument(std::string_view tool, std::string_view name) const {
  const auto* entry = find(tool);
  if (entry == nullptr) return false;
  const auto schema = entry->definition.find("inputSchema");
  if (schema == entry->definition.end() || !schema->is_object()) return false;
  const auto properties = schema->find("properties");
  return properties != schema->end() && properties->is_object() && properties->contains(std::string(name));
}

void ToolCatalog::repin(std::string_view tool) {
  const auto it = tools_.find(tool);
  if (it == tools_.end()) return;
  pins_.pin(upstream_, it->first, it->second.hash);
  it->second.changed = false;
}

}  // namespace sluice::policy
