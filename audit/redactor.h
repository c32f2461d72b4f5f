// Removes secrets from what the audit log stores and the UI shows, before either
// sees them: configured keys and JSON pointers, Kubernetes Secret data, and
// credentials recognisable in any string (bearer tokens, JWTs, PEM private keys).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::audit {

class Redactor {
 public:
  // `rules`: key names (matched case-insensitively, also as part of a longer key:
  // "token" covers "access_token") and JSON pointers ("/data"), added to the
  // built-in keys (password, secret, token, authorization, api_key, apikey,
  // private_key, credential).
  explicit Redactor(const std::vector<std::string>& rules = {});

  // `secrets`, when given, receives the string values removed under secret keys, so
  // that an echo of them elsewhere (a result's text) can be scrubbed too.
  [[nodiscard]] nlohmann::json redact(const nlohmann::json& value, std::vector<std::string>* secrets = nullptr) const;

  // Redacts `value`, and replaces every occurrence of each of `secrets` in its strings.
  [[nodiscard]] nlohmann::json redact_echoes(const nlohmann::json& value, const std::vector<std::string>& secrets) const;

 private:
  [[nodiscard]] bool secret_key(const std::string& key) const;
  void redact_in_place(nlohmann::json& value, std::vector<std::string>* secrets) const;

  std::vector<std::string> keys_;      // lower case
  std::vector<std::string> pointers_;
};

// The placeholder written where a secret was.
inline constexpr const char* redacted_text = "[REDACTED]";

}  // namespace sluice::audit
