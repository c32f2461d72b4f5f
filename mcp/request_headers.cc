#include "mcp/request_headers.h"

#include "mcp/digest.h"
#include "mcp/protocol_era.h"

namespace sluice::mcp {
namespace {

constexpr std::string_view sentinel_open = "=?base64?";
constexpr std::string_view sentinel_close = "?=";

bool is_sentinel(std::string_view value) {
  return value.size() >= sentinel_open.size() + sentinel_close.size() && value.starts_with(sentinel_open) &&
         value.ends_with(sentinel_close);
}

std::optional<std::string> header_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  // The specification mirrors integers and booleans; a number with a fraction, which
  // some servers annotate anyway, goes as JSON prints it too.
  if (value.is_boolean() || value.is_number()) return value.dump();
  return std::nullopt;
}

// object[key], or nullptr when `object` is not an object or lacks the key.
const json* member(const json* object, std::string_view key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  const auto found = object->find(key);
  return found == object->end() ? nullptr : &*found;
}

}  // namespace

std::string encode_header_value(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  bool plain = text.empty() || (!blank(text.front()) && !blank(text.back()) && !is_sentinel(text));
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) plain = false;
  }
  if (plain) return std::string(text);
  return std::string(sentinel_open) + base64_encode(text) + std::string(sentinel_close);
}

std::optional<std::string> decode_header_value(std::string_view value) {
  if (!is_sentinel(value)) return std::string(value);
  value.remove_prefix(sentinel_open.size());
  value.remove_suffix(sentinel_close.size());
  return base64_decode(value);
}

void ToolHeaderMap::learn(const json& result) {
  const auto* tools = member(&result, "tools");
  if (tools == nullptr || !tools->is_array()) return;
  for (const auto& tool : *tools) {
    const auto* name = member(&tool, "name");
    if (name == nullptr || !name->is_string()) continue;
    std::vector<Binding> bindings;
    const auto* properties = member(member(&tool, "inputSchema"), "properties");
    if (properties != nullptr && properties->is_object()) {
      for (const auto& [argument, schema] : properties->items()) {
        const auto* header = member(&schema, "x-mcp-header");
        if (header != nullptr && header->is_string() && !header->get_ref<const std::string&>().empty()) {
          bindings.push_back({argument, header->get<std::string>()});
        }
      }
    }
    if (tools_.size() >= max_tools && !tools_.contains(name->get_ref<const std::string&>())) continue;
    tools_.insert_or_assign(name->get<std::string>(), std::move(bindings));
  }
}

const std::vector<ToolHeaderMap::Binding>* ToolHeaderMap::bindings(std::string_view tool) const {
  const auto found = tools_.find(std::string(tool));
  return found == tools_.end() ? nullptr : &found->second;
}

std::vector<MirroredHeader> mirrored_headers(const Message& request, const ToolHeaderMap& tools) {
  std::vector<MirroredHeader> out;
  const auto& params = request.params();
  const auto* version = member(member(&params, "_meta"), protocol_version_meta_key);
  if (version != nullptr && version->is_string()) {
    out.push_back({std::string(protocol_version_header), version->get<std::string>()});
  }
  out.push_back({std::string(method_header), std::string(request.method())});
  const auto method = request.method();
  // The tasks extension names its task the same way (tasks/get, tasks/update, tasks/cancel).
  const char* name_field = method == "tools/call" || method == "prompts/get" ? "name"
                           : method == "resources/read"                      ? "uri"
                           : method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel" ? "taskId"
                                                                             : nullptr;
  if (name_field == nullptr) return out;
  const auto* name = member(&params, name_field);
  if (name == nullptr || !name->is_string()) return out;
  out.push_back({std::string(name_header), name->get<std::string>()});
  if (method != "tools/call") return out;
  const auto* bindings = tools.bindings(name->get_ref<const std::string&>());
  const auto* arguments = member(&params, "arguments");
  if (bindings == nullptr) return out;
  for (const auto& binding : *bindings) {
    const auto* value = member(arguments, binding.argument);
    const auto text = value ? header_text(*value) : std::nullopt;
    if (text) out.push_back({std::string(param_header_prefix) + binding.header, *text});
  }
  return out;
}

}  // namespace sluice::mcp
