#include "policy/argument_check.h"

#include <cmath>

namespace sluice::policy {
namespace {

bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double number = value.get<double>();
    return std::isfinite(number) && std::trunc(number) == number;  // JSON Schema: 2.0 is an integer
  }
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;  // a type this check does not know: the server decides
}

// `type` may be one name or a list of names.
bool fits_type(const nlohmann::json& value, const nlohmann::json& type) {
  if (type.is_string()) return has_type(value, type.get<std::string>());
  if (type.is_array()) {
    for (const auto& name : type) {
      if (name.is_string() && has_type(value, name.get<std::string>())) return true;
    }
    return false;
  }
  return true;
}

std::string describe_type(const nlohmann::json& type) { return type.is_string() ? type.get<std::string>() : type.dump(); }

}  // namespace

std::optional<std::string> check_arguments(const nlohmann::json& input_schema, const nlohmann::json& arguments) {
  if (!input_schema.is_object()) return std::nullopt;
  const auto properties_it = input_schema.find("properties");
  const bool has_properties = properties_it != input_schema.end() && properties_it->is_object();
  if (const auto required = input_schema.find("required"); required != input_schema.end() && required->is_array()) {
    for (const auto& name : *required) {
      if (name.is_string() && !arguments.contains(name.get<std::string>())) {
        return "missing required argument \"" + name.get<std::string>() + "\"";
      }
    }
  }
  const auto additional = input_schema.find("additionalProperties");
  const bool closed = additional != input_schema.end() && additional->is_boolean() && !additional->get<bool>();
  for (const auto& [name, value] : arguments.items()) {
    const nlohmann::json* property = nullptr;
    if (has_properties) {
      const auto it = properties_it->find(name);
      if (it != properties_it->end()) property = &*it;
    }
    if (property == nullptr) {
      if (closed) return "unknown argument \"" + name + "\" (the tool's schema allows no others)";
      continue;
    }
    if (!property->is_object()) continue;
    if (const auto type = property->find("type"); type != property->end() && !fits_type(value, *type)) {
      return "argument \"" + name + "\" must be of type " + describe_type(*type) + ", got " + value.dump();
    }
    if (const auto allowed = property->find("enum"); allowed != property->end() && allowed->is_array()) {
      bool listed = false;
      for (const auto& candidate : *allowed) listed = listed || candidate == value;
      if (!listed) return "argument \"" + name + "\" must be one of " + allowed->dump() + ", got " + value.dump();
    }
  }
  return std::nullopt;
}

}  // namespace sluice::policy
