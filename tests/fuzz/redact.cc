// Redaction on hostile JSON. The input's first line holds extra rules (comma-
// separated keys and JSON pointers), the rest is the value. Invariants: every member
// under a secret key comes out as the placeholder, and after redact_echoes no string
// still holds a removed secret (checked for secrets of letters and digits with a
// digit, which no placeholder can contain or complete).
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/redactor.h"
#include "tests/fuzz/bounded_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nlohmann::json;
using sluice::audit::Redactor;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool secret_key(const std::string& key, const std::vector<std::string>& keys) {
  const auto name = lower(key);
  return std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return name.find(k) != std::string::npos; });
}

void check_keys_redacted(const json& value, const std::vector<std::string>& keys) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (secret_key(key, keys)) {
        FUZZ_CHECK(item == sluice::audit::redacted_text);
      } else {
        check_keys_redacted(item, keys);
      }
    }
  } else if (value.is_array()) {
    for (const auto& item : value) check_keys_redacted(item, keys);
  }
}

bool checkable(const std::string& secret) {
  return std::all_of(secret.begin(), secret.end(), [](unsigned char c) { return std::isalnum(c) != 0; }) &&
         std::any_of(secret.begin(), secret.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

void check_no_secret(const json& value, const std::string& secret) {
  if (value.is_string()) {
    FUZZ_CHECK(value.get_ref<const std::string&>().find(secret) == std::string::npos);
  } else if (value.is_structured()) {
    for (const auto& item : value) check_no_secret(item, secret);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::vector<std::string> rules;
  for (std::string_view list = input.substr(0, newline); !list.empty();) {
    const auto comma = list.find(',');
    rules.emplace_back(list.substr(0, comma));
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  const auto value = parse_bounded_json(input.substr(newline + 1));
  if (!value) return 0;

  const Redactor redactor(rules);
  std::vector<std::string> keys = {"password", "secret", "token", "authorization", "api_key", "apikey",
                                   "private_key", "credential"};
  for (const auto& rule : rules) {
    if (!rule.empty() && rule.front() != '/') keys.push_back(lower(rule));
  }
  std::vector<std::string> secrets;
  const auto redacted = redactor.redact(*value, &secrets);
  check_keys_redacted(redacted, keys);

  const auto scrubbed = redactor.redact_echoes(*value, secrets);
  check_keys_redacted(scrubbed, keys);
  for (const auto& secret : secrets) {
    if (checkable(secret)) check_no_secret(scrubbed, secret);
  }
  return 0;
}
