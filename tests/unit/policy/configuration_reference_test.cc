// docs/configuration.md and the loader agree: every key the reference documents is one
// the loader accepts, and every key the loader accepts is documented. The loader's side
// comes from its own key table (config_keys()), the reference's from its `| key |` tables.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "policy/config_loader.h"

namespace sluice::policy {
namespace {

std::string read_reference() {
  std::ifstream file(SLUICE_CONFIGURATION_REFERENCE);
  REQUIRE(file);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Rows of the tables whose first column is headed `key`, each as the dotted path of
// its section (the first `code` of the heading above it; none: the top of the file)
// and its first cell.
std::set<std::string> documented_keys(const std::string& reference) {
  static const std::regex heading(R"(^#+ [^`]*(?:`([^`]+)`)?)");
  static const std::regex row(R"(^\| `([^`]+)` \|)");
  std::set<std::string> keys;
  std::string section;
  bool in_key_table = false;
  std::istringstream lines(reference);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, heading)) {
      section = match[1].matched ? match[1].str() : std::string();
      in_key_table = false;
    } else if (line.starts_with("| key |")) {
      in_key_table = true;
    } else if (!line.starts_with("|")) {
      in_key_table = false;
    } else if (in_key_table && std::regex_search(line, match, row)) {
      keys.insert(section.empty() ? match[1].str() : section + "." + match[1].str());
    }
  }
  return keys;
}

// "listen.tokens[].sha256" also documents "listen.tokens" and "listen".
std::set<std::string> with_parents(const std::set<std::string>& keys) {
  std::set<std::string> all;
  for (const auto& key : keys) {
    std::string path = key;
    for (;;) {
      all.insert(path);
      if (path.ends_with("[]")) path.resize(path.size() - 2);
      all.insert(path);
      const auto dot = path.rfind('.');
      if (dot == std::string::npos) break;
      path.resize(dot);
    }
  }
  return all;
}

TEST_CASE("the configuration reference documents exactly the keys the loader accepts") {
  const auto documented = documented_keys(read_reference());
  const auto accepted_list = config_keys();
  const std::set<std::string> accepted(accepted_list.begin(), accepted_list.end());
  REQUIRE(accepted.size() == accepted_list.size());
  REQUIRE(documented.size() > 40);

  SECTION("every documented key is accepted") {
    for (const auto& key : documented) {
      INFO("docs/configuration.md documents " << key << ", which the loader does not accept");
      CHECK(accepted.count(key) == 1);
    }
  }
  SECTION("every accepted key is documented") {
    const auto covered = with_parents(documented);
    for (const auto& key : accepted) {
      INFO("the loader accepts " << key << ", which docs/configuration.md does not document");
      CHECK(covered.count(key) == 1);
    }
  }
}

TEST_CASE("the reference's complete example file loads") {
  const auto reference = read_reference();
  const auto intro = reference.find("A complete file");
  REQUIRE(intro != std::string::npos);
  const auto start = reference.find("```yaml\n", intro);
  REQUIRE(start != std::string::npos);
  const auto body = start + 8;
  const auto end = reference.find("```", body);
  const auto config = load_config_text(reference.substr(body, end - body), "docs/configuration.md");
  CHECK(config.policy.rules.size() == 4);
  CHECK(config.ui.has_value());
}

TEST_CASE("every key the loader lists is one it accepts in a file") {
  // The table drives expect_map(): a key in config_keys() that a file could not use
  // would make the reference promise something the loader refuses.
  const auto error = [](const std::string& yaml) -> std::string {
    try {
      (void)load_config_text(yaml, "sluice.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return {};
  };
  CHECK(error("listen: { limits: { max_sessions: 3 } }").empty());
  CHECK_THAT(
      error("listen: { limits: { max_session: 3 } }"),
      Catch::Matchers::Contains("listen.limits.max_session: unknown key; expected one of max_sessions"));
  CHECK_THAT(error("policy: { rules: [ { match: {}, action: allow, because: x } ] }"),
             Catch::Matchers::Contains("policy.rules[0].because: unknown key"));
}

}  // namespace
}  // namespace sluice::policy
