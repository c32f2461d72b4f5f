#include "policy/config.h"

#include <stdexcept>

namespace sluice::policy {

ArgumentPath::ArgumentPath(std::string text) : text_(std::move(text)) {
  if (text_.empty()) throw std::invalid_argument("an argument path cannot be empty");
  if (text_.front() != '/') {
    tokens_.push_back(text_);
    return;
  }
  is_pointer_ = true;
  // RFC 6901: tokens separated by '/', with ~1 for '/' and ~0 for '~'.
  std::string token;
  for (std::size_t i = 1; i <= text_.size(); ++i) {
    if (i == text_.size() || text_[i] == '/') {
      tokens_.push_back(std::move(token));
      token.clear();
    } else if (text_[i] == '~') {
      const char next = i + 1 < text_.size() ? text_[i + 1] : '\0';
      if (next != '0' && next != '1') {
        throw std::invalid_argument("\"" + text_ + "\" is not a JSON pointer: '~' must be followed by 0 or 1");
      }
      token += next == '0' ? '~' : '/';
      ++i;
    } else {
      token += text_[i];
    }
  }
}

const json* ArgumentPath::find(const json& arguments) const {
  const json* node = &arguments;
  for (const auto& token : tokens_) {
    if (node->is_object()) {
      const auto it = node->find(token);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array() && is_pointer_) {
      if (token.empty() || token.size() > 9 || token.find_first_not_of("0123456789") != std::string::npos ||
          (token.size() > 1 && token.front() == '0')) {
        return nullptr;
      }
      const auto index = std::stoul(token);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

bool ValueMatcher::matches(const json* value) const {
  if (kind == Kind::exists) return (value != nullptr) == should_exist;
  if (value == nullptr) return false;
  switch (kind) {
    case Kind::equals: return *value == expected;
    case Kind::glob: return value->is_string() && glob->matches(value->get_ref<const std::string&>());
    case Kind::regex: return value->is_string() && std::regex_search(value->get_ref<const std::string&>(), *regex);
    case Kind::one_of:
      for (const auto& candidate : one_of) {
        if (*value == candidate) return true;
      }
      return false;
    case Kind::exists: break;
  }
  return false;
}

std::string ValueMatcher::describe() const {
  switch (kind) {
    case Kind::equals: return "equals " + expected.dump();
    case Kind::glob: return "matches \"" + glob->pattern() + "\"";
    case Kind::regex: return "matches regex /" + regex_source + "/";
    case Kind::one_of: return "is one of " + json(one_of).dump();
    case Kind::exists: return should_exist ? "is present" : "is absent";
  }
  return "?";
}

std::string_view to_string(AnnotationTrust trust) {
  switch (trust) {
    case AnnotationTrust::trust: return "trust";
    case AnnotationTrust::pinned: return "pinned";
    case AnnotationTrust::ignore: return "ignore";
  }
  return "?";
}

Config default_config() {
  Config config;
  config.source = "built-in default";
  config.policy.namespaces.arguments = {ArgumentPath("namespace"), ArgumentPath("/metadata/namespace")};
  Rule reads;
  reads.name = "reads";
  reads.match.classes = {ToolClass::read};
  reads.action = Action::allow;
  reads.reason = "read-only tools are allowed";
  config.policy.rules.push_back(std::move(reads));
  return config;
}

}  // namespace sluice::policy
