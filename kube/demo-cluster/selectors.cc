#include "kube/demo-cluster/selectors.h"

#include <algorithm>

namespace sluice::kube::demo {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// Splits at commas outside parentheses: `a in (x,y),b` is two requirements.
std::vector<std::string_view> split_requirements(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      const auto part = trim(text.substr(start, i - start));
      if (!part.empty()) parts.push_back(part);
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return parts;
}

std::string label_value(const nlohmann::json& labels, const std::string& key, bool& present) {
  present = false;
  if (!labels.is_object()) return {};
  const auto found = labels.find(key);
  if (found == labels.end() || !found->is_string()) return {};
  present = true;
  return found->get<std::string>();
}

}  // namespace

LabelSelector LabelSelector::parse(std::string_view text) {
  LabelSelector selector;
  for (const auto part : split_requirements(text)) {
    Requirement requirement;
    if (part.front() == '!') {
      requirement = {std::string(trim(part.substr(1))), Operator::not_exists, {}};
    } else if (const auto set = part.find(" notin "); set != std::string_view::npos) {
      requirement = {std::string(trim(part.substr(0, set))), Operator::not_in, {}};
    } else if (const auto in = part.find(" in "); in != std::string_view::npos) {
      requirement = {std::string(trim(part.substr(0, in))), Operator::in, {}};
    } else if (const auto ne = part.find("!="); ne != std::string_view::npos) {
      requirement = {std::string(trim(part.substr(0, ne))), Operator::not_equals,
                     {std::string(trim(part.substr(ne + 2)))}};
    } else if (const auto eq = part.find('='); eq != std::string_view::npos) {
      const std::size_t value_start = part.substr(eq, 2) == "==" ? eq + 2 : eq + 1;
      requirement = {std::string(trim(part.substr(0, eq))), Operator::equals,
                     {std::string(trim(part.substr(value_start)))}};
    } else {
      requirement = {std::string(part), Operator::exists, {}};
    }
    if (requirement.op == Operator::in || requirement.op == Operator::not_in) {
      const auto open = part.find('(');
      const auto close = part.rfind(')');
      if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        throw SelectorError("label selector \"" + std::string(part) + "\": expected a set in parentheses");
      }
      for (const auto value : split_requirements(part.substr(open + 1, close - open - 1))) {
        requirement.values.emplace_back(value);
      }
    }
    if (requirement.key.empty() || requirement.key.find_first_of(" ()") != std::string::npos) {
      throw SelectorError("label selector \"" + std::string(part) + "\": invalid key");
    }
    selector.requirements_.push_back(std::move(requirement));
  }
  return selector;
}

LabelSelector LabelSelector::from_match_labels(const nlohmann::json& match_labels) {
  LabelSelector selector;
  if (!match_labels.is_object()) return selector;
  for (const auto& [key, value] : match_labels.items()) {
    if (value.is_string()) selector.requirements_.push_back({key, Operator::equals, {value.get<std::string>()}});
  }
  return selector;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& requirement) {
    bool present = false;
    const auto value = label_value(labels, requirement.key, present);
    const bool listed =
        std::find(requirement.values.begin(), requirement.values.end(), value) != requirement.values.end();
    switch (requirement.op) {
      case Operator::equals:
      case Operator::in:
        return present && listed;
      case Operator::not_equals:
      case Operator::not_in:
        return !present || !listed;
      case Operator::exists:
        return present;
      case Operator::not_exists:
        return !present;
    }
    return false;
  });
}

FieldSelector FieldSelector::parse(std::string_view text) {
  FieldSelector selector;
  for (const auto part : split_requirements(text)) {
    const auto ne = part.find("!=");
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      throw SelectorError("field selector \"" + std::string(part) + "\": expected FIELD=VALUE or FIELD!=VALUE");
    }
    if (ne != std::string_view::npos && ne < eq) {
      selector.requirements_.push_back(
          {std::string(trim(part.substr(0, ne))), false, std::string(trim(part.substr(ne + 2)))});
    } else {
      const std::size_t value_start = part.substr(eq, 2) == "==" ? eq + 2 : eq + 1;
      selector.requirements_.push_back(
          {std::string(trim(part.substr(0, eq))), true, std::string(trim(part.substr(value_start)))});
    }
  }
  return selector;
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& requirement) {
    const nlohmann::json* node = &object;
    std::string_view path = requirement.path;
    while (node != nullptr && !path.empty()) {
      const auto dot = path.find('.');
      const std::string key(path.substr(0, dot));
      path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
      const auto found = node->is_object() ? node->find(key) : node->end();
      node = node->is_object() && found != node->end() ? &*found : nullptr;
    }
    std::string value;
    if (node != nullptr && node->is_string()) value = node->get<std::string>();
    else if (node != nullptr && !node->is_null() && !node->is_structured()) value = node->dump();
    return (value == requirement.value) == requirement.equals;
  });
}

}  // namespace sluice::kube::demo
