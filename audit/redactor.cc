#include "audit/redactor.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace sluice::audit {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Plain left-to-right scanners, not std::regex: libstdc++'s regex recurses once per
// character matched, and a long enough token from a hostile client would overflow
// the stack. Each scanner is linear in the length of the text.

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
         c == '+' || c == '/';
}
bool base64url_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_'; }

std::size_t skip_spaces(const std::string& text, std::size_t at) {
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at])) != 0) ++at;
  return at;
}

// An optional quote, also JSON-escaped (\" inside a JSON string in text).
std::size_t skip_quote(const std::string& text, std::size_t at) {
  if (at < text.size() && text[at] == '\\') ++at;
  if (at < text.size() && text[at] == '"') ++at;
  return at;
}

// `kind: Secret` in YAML, or "kind":"Secret" in JSON, also JSON-escaped inside a
// string (a tool's result that echoes a manifest).
bool names_a_secret(const std::string& text) {
  for (auto at = text.find("kind"); at != std::string::npos; at = text.find("kind", at + 1)) {
    const bool starts_name = at == 0 || !name_char(text[at - 1]) ||
                             (at >= 2 && text[at - 2] == '\\' && (text[at - 1] == 'n' || text[at - 1] == 'r' || text[at - 1] == 't'));
    if (!starts_name) continue;
    auto next = skip_spaces(text, skip_quote(text, at + 4));
    if (next >= text.size() || text[next] != ':') continue;
    next = skip_quote(text, skip_spaces(text, next + 1));
    if (text.compare(next, 6, "Secret") == 0 && (next + 6 == text.size() || !name_char(text[next + 6]))) return true;
  }
  return false;
}

// -----BEGIN ... PRIVATE KEY----- up to its END line (or the end of the text).
std::string without_private_keys(std::string text) {
  for (auto begin = text.find("-----BEGIN "); begin != std::string::npos; begin = text.find("-----BEGIN ", begin + 1)) {
    const auto label_end = text.find("-----", begin + 11);
    if (label_end == std::string::npos) break;
    const auto label = std::string_view(text).substr(begin + 11, label_end - begin - 11);
    if (!label.ends_with("PRIVATE KEY") || label.size() > 64) continue;
    auto end = text.find("-----END ", label_end + 5);
    if (end != std::string::npos) end = text.find("-----", end + 9);
    end = end == std::string::npos ? text.size() : end + 5;
    text.replace(begin, end - begin, "[REDACTED PRIVATE KEY]");
  }
  return text;
}

// "Bearer <token>" keeps the word and loses the token.
std::string without_bearer_tokens(std::string text) {
  for (std::size_t at = 0; at + 6 < text.size();) {
    if (text.compare(at, 6, "Bearer") != 0 && text.compare(at, 6, "bearer") != 0) {
      ++at;
      continue;
    }
    const auto start = skip_spaces(text, at + 6);
    auto end = start;
    while (end < text.size() && token_char(text[end])) ++end;
    while (end < text.size() && text[end] == '=') ++end;
    if (start == at + 6 || end == start) {
      at += 6;
      continue;
    }
    text.replace(start, end - start, "[REDACTED]");
    at = start + 10;
  }
  return text;
}

// eyJ<header>.<payload>.<signature>: a JWT.
std::string without_jwts(std::string text) {
  for (auto at = text.find("eyJ"); at != std::string::npos; at = text.find("eyJ", at + 1)) {
    auto end = at;
    int parts = 0;
    std::size_t part_length = 0;
    bool valid = true;
    for (; end < text.size() && parts < 3; ++end) {
      if (base64url_char(text[end])) {
        ++part_length;
      } else if (text[end] == '.' && parts < 2) {
        valid = valid && part_length >= 4;
        ++parts;
        part_length = 0;
      } else {
        break;
      }
    }
    if (parts < 2) {
      // Every "eyJ" inside this run ends at the same place with no more dots:
      // none of them starts a JWT, and rescanning each would be quadratic.
      at = end - 1;
      continue;
    }
    if (!valid) continue;
    text.replace(at, end - at, "[REDACTED JWT]");
  }
  return text;
}

// Credentials that look the same wherever they appear.
std::string scrub_string(const std::string& text) {
  // A manifest that carries a Secret is dropped whole: its data may be base64 and
  // spread over lines in any of YAML's many forms.
  if (text.find("Secret") != std::string::npos && names_a_secret(text)) {
    return "[REDACTED: a manifest containing a Kubernetes Secret]";
  }
  if (text.find("PRIVATE KEY-----") == std::string::npos && text.find("earer") == std::string::npos &&
      text.find("eyJ") == std::string::npos) {
    return text;
  }
  return without_jwts(without_bearer_tokens(without_private_keys(text)));
}

bool is_secret_object(const nlohmann::json& value) {
  const auto kind = value.find("kind");
  return kind != value.end() && kind->is_string() && *kind == "Secret";
}

}  // namespace

Redactor::Redactor(const std::vector<std::string>& rules)
    : keys_{"password", "secret", "token", "authorization", "api_key", "apikey", "private_key", "credential"} {
  for (const auto& rule : rules) {
    if (rule.empty()) continue;
    if (rule.front() == '/') {
      pointers_.push_back(rule);
    } else {
      keys_.push_back(lower(rule));
    }
  }
}

bool Redactor::secret_key(const std::string& key) const {
  const auto name = lower(key);
  return std::any_of(keys_.begin(), keys_.end(), [&](const std::string& k) { return name.find(k) != std::string::npos; });
}

// Collects the strings inside a value that is about to be redacted.
void collect_strings(const nlohmann::json& value, std::vector<std::string>* secrets) {
  if (secrets == nullptr) return;
  if (value.is_string()) {
    // Short values (a "1", a "yes") would scrub innocent text everywhere.
    if (value.get_ref<const std::string&>().size() >= 4) secrets->push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& item : value) collect_strings(item, secrets);
  }
}

void Redactor::redact_in_place(nlohmann::json& value, std::vector<std::string>* secrets) const {
  if (value.is_string()) {
    value = scrub_string(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (auto& item : value) redact_in_place(item, secrets);
  } else if (value.is_object()) {
    const bool secret_object = is_secret_object(value);
    for (auto& [key, item] : value.items()) {
      if (secret_key(key) || (secret_object && (key == "data" || key == "stringData"))) {
        collect_strings(item, secrets);
        item = redacted_text;
      } else {
        redact_in_place(item, secrets);
      }
    }
  }
}

nlohmann::json Redactor::redact(const nlohmann::json& value, std::vector<std::string>* secrets) const {
  auto copy = value;
  for (const auto& pointer : pointers_) {
    try {
      const nlohmann::json::json_pointer at(pointer);
      if (copy.contains(at)) {
        collect_strings(copy[at], secrets);
        copy[at] = redacted_text;
      }
    } catch (const nlohmann::json::exception&) {
      // A pointer through a value of another shape: nothing to redact there.
    }
  }
  redact_in_place(copy, secrets);
  return copy;
}

nlohmann::json Redactor::redact_echoes(const nlohmann::json& value, const std::vector<std::string>& secrets) const {
  auto copy = redact(value);
  if (secrets.empty()) return copy;
  const std::string_view placeholder = redacted_text;
  std::vector<nlohmann::json*> pending{&copy};
  while (!pending.empty()) {
    auto* node = pending.back();
    pending.pop_back();
    // A value already replaced stays the bare placeholder, whatever the secrets are.
    if (node->is_string() && node->get_ref<const std::string&>() != placeholder) {
      auto text = node->get<std::string>();
      for (const auto& secret : secrets) {
        // The search goes on after the placeholder: a secret that is part of it
        // ("REDACTED") would otherwise be found in it again, forever.
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + placeholder.size())) {
          text.replace(at, secret.size(), placeholder);
        }
      }
      *node = std::move(text);
    } else if (node->is_structured()) {
      for (auto& item : *node) pending.push_back(&item);
    }
  }
  return copy;
}

}  // namespace sluice::audit
