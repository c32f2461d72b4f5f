// Loads sluice.yaml into a Config. Every problem is reported as a ConfigError whose
// message names the file, the line and the key, and says what was expected:
//   sluice.yaml:14: policy.rules[2].action: expected one of allow, deny, dry_run,
//   require_approval, got "approve"
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/config.h"

namespace sluice::policy {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `${VAR}` in any string value is replaced by the environment variable VAR (an unset
// variable is an error); `$$` is a literal `$`.
Config load_config_file(const std::string& path);
Config load_config_text(std::string_view text, const std::string& source_name);

// `text` as a string value to write into sluice.yaml: `$` doubled, so that the
// loader's ${VAR} expansion gives back `text`.
std::string literal_value(std::string_view text);

// Every key the loader accepts, as dotted paths from the top of the file:
// "listen.limits.max_sessions", "policy.rules[].match.tool". A key whose value is a
// mapping of the user's own names (upstream.headers, policy.tools, …args) is listed,
// those names are not. docs/configuration.md documents exactly these.
std::vector<std::string> config_keys();

// The configuration as Sluice understood it, defaults filled in, as YAML.
std::string to_yaml(const Config& config);

}  // namespace sluice::policy
