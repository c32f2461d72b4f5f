#include "kube/manifest.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include <yaml-cpp/yaml.h>

namespace sluice::kube {
namespace {

// YAML 1.2 core schema for plain scalars: what Kubernetes' YAML decoder gives them.
json plain_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long integer = std::strtoll(begin, &end, 10);
  if (errno == 0 && end == begin + text.size() && (std::isdigit(static_cast<unsigned char>(text[0])) != 0 ||
                                                     ((text[0] == '-' || text[0] == '+') && text.size() > 1))) {
    return integer;
  }
  errno = 0;
  const double number = std::strtod(begin, &end);
  const bool numeric_start = std::isdigit(static_cast<unsigned char>(text[0])) != 0 || text[0] == '-' ||
                             text[0] == '+' || text[0] == '.';
  if (errno == 0 && end == begin + text.size() && numeric_start && text.find_first_of("xXpP") == std::string::npos &&
      text != "-" && text != "+" && text != ".") {
    return number;
  }
  return text;
}

json to_json(const YAML::Node& node, int depth, const ManifestLimits& limits) {
  if (depth > limits.max_depth) {
    throw ManifestError("line " + std::to_string(node.Mark().line + 1) + ": nested deeper than " +
                        std::to_string(limits.max_depth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // A quoted scalar has the tag "!": always a string, as "3" must stay "3".
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& element : node) array.push_back(to_json(element, depth + 1, limits));
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          throw ManifestError("line " + std::to_string(entry.first.Mark().line + 1) + ": a key must be a string");
        }
        object[entry.first.Scalar()] = to_json(entry.second, depth + 1, limits);
      }
      return object;
    }
  }
  return nullptr;
}

}  // namespace

json parse_manifest(std::string_view text, const ManifestLimits& limits) {
  if (text.size() > limits.max_bytes) {
    throw ManifestError("manifest is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                        std::to_string(limits.max_bytes));
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& error) {
    throw ManifestError("line " + std::to_string(error.mark.line + 1) + ": " + error.msg);
  }
  if (documents.size() != 1) {
    throw ManifestError("expected exactly one YAML document, got " + std::to_string(documents.size()));
  }
  json manifest = to_json(documents.front(), 0, limits);
  if (!manifest.is_object()) throw ManifestError("the manifest must be an object (apiVersion, kind, metadata, ...)");
  return manifest;
}

}  // namespace sluice::kube
