// Label selectors (`app=web,tier in (a,b),!canary`) and field selectors
// (`status.phase=Running,metadata.name!=x`) as the API server's list calls take them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::kube::demo {

struct SelectorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class LabelSelector {
 public:
  // Throws SelectorError on a malformed selector.
  static LabelSelector parse(std::string_view text);
  // The selector of a Deployment or ReplicaSet's spec.selector.matchLabels.
  static LabelSelector from_match_labels(const nlohmann::json& match_labels);

  [[nodiscard]] bool matches(const nlohmann::json& labels) const;

 private:
  enum class Operator { equals, not_equals, in, not_in, exists, not_exists };
  struct Requirement {
    std::string key;
    Operator op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

// A field selector over any dotted path of the object (the real API server allows
// only a few fields per resource; accepting every path is a superset of that).
class FieldSelector {
 public:
  static FieldSelector parse(std::string_view text);
  [[nodiscard]] bool matches(const nlohmann::json& object) const;

 private:
  struct Requirement {
    std::string path;
    bool equals;
    std::string value;
  };
  std::vector<Requirement> requirements_;
};

}  // namespace sluice::kube::demo
