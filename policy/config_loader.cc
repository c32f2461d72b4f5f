#include "policy/config_loader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "mcp/message.h"
#include "policy/duration.h"

namespace sluice::policy {
namespace {

using mcp::json_quoted;

template <typename Words>
std::string join(const Words& words) {
  std::string text;
  for (const auto word : words) text += (text.empty() ? "" : ", ") + std::string(word);
  return text;
}

// Every key the loader accepts, by the mapping that holds it ("" is the file,
// "policy.rules[]" each rule, "policy.rules[].match.args.ARG" a condition's explicit
// form). expect_map() checks against this table and config_keys() lists it, so that the
// reference (docs/configuration.md) is tested against what the loader really takes.
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& key_table() {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> table = {
      {"", {"upstream", "listen", "policy", "audit", "ui", "approval", "dry_run"}},
      {"upstream", {"name", "command", "url", "headers", "ca", "shared", "request_timeout"}},
      {"listen", {"address", "path", "tokens", "allowed_origins", "limits", "tls"}},
      {"listen.tls", {"cert", "key"}},
      {"listen.tokens[]", {"principal", "sha256"}},
      {"listen.limits",
       {"max_sessions", "session_idle", "max_body_bytes", "max_header_bytes", "header_timeout", "body_timeout",
        "max_connections"}},
      {"policy", {"mode", "default", "namespaces", "annotations", "tools", "rules"}},
      {"policy.namespaces", {"allow", "arguments", "all_namespaces"}},
      {"policy.rules[]", {"name", "match", "action", "reason", "approval"}},
      {"policy.rules[].match", {"tool", "class", "method", "upstream", "principal", "args"}},
      {"policy.rules[].match.args.ARG", {"equals", "glob", "regex", "in", "exists"}},
      {"policy.rules[].approval", {"timeout", "approvers", "quorum"}},
      {"audit",
       {"path", "sync", "redact", "checkpoint_key", "checkpoint_name", "checkpoint_every", "checkpoint_interval",
        "checkpoint_file"}},
      {"ui", {"address", "users", "local_approver"}},
      {"ui.users[]", {"name", "password", "roles"}},
      {"approval", {"hold", "timeout", "progress_interval", "client_may_approve", "state_key"}},
      {"dry_run", {"argument"}},
  };
  return table;
}

const std::vector<std::string_view>& keys_of(std::string_view section) {
  for (const auto& [name, keys] : key_table()) {
    if (name == section) return keys;
  }
  throw std::logic_error("config_loader: no key table for " + std::string(section));
}

// Reads one file, knowing for every node the path of keys that leads to it.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& message) const {
    const auto mark = node.Mark();
    const auto line = mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : std::string();
    throw ConfigError(source_ + line + ": " + path + ": " + message);
  }

  // `section` names the mapping in key_table(); `path` is where this one is.
  void expect_map(const YAML::Node& node, const std::string& path, std::string_view section) const {
    const auto& keys = keys_of(section);
    if (!node.IsMap()) fail(node, path, "expected a mapping with keys " + join(keys));
    for (const auto& entry : node) {
      const auto key = entry.first.as<std::string>();
      bool known = false;
      for (const auto allowed : keys) known = known || allowed == key;
      if (!known) fail(entry.first, child(path, key), "unknown key; expected one of " + join(keys));
    }
  }

  std::string string(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar()) fail(node, path, "expected a string");
    auto value = expand(node, path, node.Scalar());
    if (!mcp::is_utf8(value)) fail(node, path, "expected UTF-8 text, got " + json_quoted(value));
    return value;
  }

  std::vector<std::string> strings(const YAML::Node& node, const std::string& path) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      out.push_back(string(node, path));
      return out;
    }
    if (!node.IsSequence()) fail(node, path, "expected a string or a list of strings");
    for (std::size_t i = 0; i < node.size(); ++i) out.push_back(string(node[i], index(path, i)));
    return out;
  }

  template <class Enum, class Parse>
  Enum choice(const YAML::Node& node, const std::string& path, Parse parse,
              std::initializer_list<std::string_view> names) const {
    const auto text = string(node, path);
    const auto value = parse(text);
    if (!value) fail(node, path, "expected one of " + join(names) + ", got " + json_quoted(text));
    return *value;
  }

  int positive_int(const YAML::Node& node, const std::string& path) const {
    const auto text = string(node, path);
    int value = 0;
    std::size_t used = 0;
    try {
      value = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || value < 1) fail(node, path, "expected a whole number of at least 1, got " + json_quoted(text));
    return value;
  }

  std::chrono::seconds duration(const YAML::Node& node, const std::string& path) const {
    const auto text = string(node, path);
    const auto value = parse_duration(text, std::chrono::hours(24 * 7));
    if (!value || *value < std::chrono::seconds(1)) {
      fail(node, path, "expected a duration of at least 1s, such as 30s, 15m or 2h, got " + json_quoted(text));
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*value);
  }

  // A YAML scalar as the JSON value it would be in JSON: numbers, booleans, null
  // keep their type unless quoted.
  json scalar_value(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar()) fail(node, path, "expected a single value");
    const auto text = expand(node, path, node.Scalar());
    if (node.Tag() == "!") return text;  // quoted in the file: a string
    if (text == "true") return true;
    if (text == "false") return false;
    if (text == "null" || text == "~") return nullptr;
    const auto number = json::parse(text, nullptr, false);
    if (number.is_number()) return number;
    return text;
  }

  static std::string child(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

 private:
  std::string expand(const YAML::Node& node, const std::string& path, const std::string& text) const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$') {
        out += text[i];
      } else if (i + 1 < text.size() && text[i + 1] == '$') {
        out += '$';
        ++i;
      } else if (i + 1 < text.size() && text[i + 1] == '{') {
        const auto end = text.find('}', i + 2);
        if (end == std::string::npos) fail(node, path, "unterminated ${ in " + json_quoted(text));
        const auto name = text.substr(i + 2, end - i - 2);
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) fail(node, path, "environment variable " + name + " is not set");
        out += value;
        i = end;
      } else {
        out += '$';
      }
    }
    return out;
  }

  std::string source_;
};

std::vector<Glob> globs(const Reader& reader, const YAML::Node& node, const std::string& path) {
  std::vector<Glob> out;
  for (auto& pattern : reader.strings(node, path)) out.emplace_back(std::move(pattern));
  return out;
}

ArgumentPath argument_path(const Reader& reader, const YAML::Node& node, const std::string& path,
                           const std::string& text) {
  try {
    return ArgumentPath(text);
  } catch (const std::invalid_argument& e) {
    reader.fail(node, path, std::string("expected an argument name or a JSON pointer: ") + e.what());
  }
}

ValueMatcher value_matcher(const Reader& reader, const YAML::Node& node, const std::string& path) {
  ValueMatcher matcher;
  if (node.IsScalar()) {
    const auto value = reader.scalar_value(node, path);
    if (value.is_string()) {
      matcher.kind = ValueMatcher::Kind::glob;
      matcher.glob.emplace(value.get<std::string>());
    } else {
      matcher.kind = ValueMatcher::Kind::equals;
      matcher.expected = value;
    }
    return matcher;
  }
  if (node.IsSequence()) {
    matcher.kind = ValueMatcher::Kind::one_of;
    for (std::size_t i = 0; i < node.size(); ++i) matcher.one_of.push_back(reader.scalar_value(node[i], Reader::index(path, i)));
    return matcher;
  }
  reader.expect_map(node, path, "policy.rules[].match.args.ARG");
  if (node.size() != 1) reader.fail(node, path, "expected exactly one of equals, glob, regex, in, exists");
  const auto entry = *node.begin();
  const auto key = entry.first.as<std::string>();
  const YAML::Node value = entry.second;
  const auto here = Reader::child(path, key);
  if (key == "equals") {
    matcher.kind = ValueMatcher::Kind::equals;
    matcher.expected = reader.scalar_value(value, here);
  } else if (key == "glob") {
    matcher.kind = ValueMatcher::Kind::glob;
    matcher.glob.emplace(reader.string(value, here));
  } else if (key == "regex") {
    matcher.kind = ValueMatcher::Kind::regex;
    matcher.regex_source = reader.string(value, here);
    try {
      matcher.regex = std::make_shared<const std::regex>(matcher.regex_source, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      reader.fail(value, here, "not a valid regular expression: " + std::string(e.what()));
    }
  } else if (key == "in") {
    if (!value.IsSequence()) reader.fail(value, here, "expected a list of values");
    matcher.kind = ValueMatcher::Kind::one_of;
    for (std::size_t i = 0; i < value.size(); ++i) matcher.one_of.push_back(reader.scalar_value(value[i], Reader::index(here, i)));
  } else {
    matcher.kind = ValueMatcher::Kind::exists;
    const auto flag = reader.scalar_value(value, here);
    if (!flag.is_boolean()) reader.fail(value, here, "expected true or false");
    matcher.should_exist = flag.get<bool>();
  }
  return matcher;
}

Match match(const Reader& reader, const YAML::Node& node, const std::string& path) {
  reader.expect_map(node, path, "policy.rules[].match");
  Match out;
  if (node["tool"]) out.tools = globs(reader, node["tool"], Reader::child(path, "tool"));
  if (node["method"]) out.methods = globs(reader, node["method"], Reader::child(path, "method"));
  if (node["upstream"]) out.upstreams = globs(reader, node["upstream"], Reader::child(path, "upstream"));
  if (node["principal"]) out.principals = globs(reader, node["principal"], Reader::child(path, "principal"));
  if (const auto classes = node["class"]) {
    const auto here = Reader::child(path, "class");
    const auto list = classes.IsSequence() ? classes : YAML::Node(std::vector<YAML::Node>{classes});
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.classes.push_back(reader.choice<ToolClass>(list[i], classes.IsSequence() ? Reader::index(here, i) : here,
                                                     parse_tool_class, {"read", "mutate", "destructive", "changed"}));
    }
  }
  if (const auto args = node["args"]) {
    const auto here = Reader::child(path, "args");
    if (!args.IsMap()) reader.fail(args, here, "expected a mapping of argument names or JSON pointers to conditions");
    for (const auto& entry : args) {
      const auto key = entry.first.as<std::string>();
      out.arguments.push_back({argument_path(reader, entry.first, here, key),
                               value_matcher(reader, entry.second, Reader::child(here, key))});
    }
  }
  return out;
}

const std::initializer_list<std::string_view> action_choices = {"allow", "deny", "dry_run", "require_approval"};

Rule rule(const Reader& reader, const YAML::Node& node, const std::string& path) {
  reader.expect_map(node, path, "policy.rules[]");
  Rule out;
  out.line = node.Mark().line + 1;
  out.name = node["name"] ? reader.string(node["name"], Reader::child(path, "name")) : path;
  // Decisions name these as their source; a rule by the same name would be ambiguous.
  for (const auto* reserved : {"default", "namespaces", "pin"}) {
    if (out.name == reserved) {
      reader.fail(node["name"], Reader::child(path, "name"),
                  "the names default, namespaces and pin are reserved for Sluice's own decisions");
    }
  }
  if (!node["match"]) reader.fail(node, path, "a rule needs `match` (use `match: {}` to match every call)");
  if (!node["match"].IsNull()) out.match = match(reader, node["match"], Reader::child(path, "match"));
  if (!node["action"]) reader.fail(node, path, "a rule needs `action`: one of " + join(action_choices));
  out.action = reader.choice<Action>(node["action"], Reader::child(path, "action"), parse_action, action_choices);
  if (node["reason"]) out.reason = reader.string(node["reason"], Reader::child(path, "reason"));
  if (const auto approval = node["approval"]) {
    const auto here = Reader::child(path, "approval");
    if (out.action != Action::require_approval) reader.fail(approval, here, "only a rule whose action is require_approval takes `approval`");
    reader.expect_map(approval, here, "policy.rules[].approval");
    ApprovalRequirement requirement;
    if (approval["timeout"]) requirement.timeout = reader.duration(approval["timeout"], Reader::child(here, "timeout"));
    if (approval["approvers"]) requirement.approvers = reader.strings(approval["approvers"], Reader::child(here, "approvers"));
    if (approval["quorum"]) requirement.quorum = reader.positive_int(approval["quorum"], Reader::child(here, "quorum"));
    out.approval = std::move(requirement);
  }
  return out;
}

void read_policy(const Reader& reader, const YAML::Node& node, PolicyConfig& policy) {
  const std::string path = "policy";
  reader.expect_map(node, path, "policy");
  if (node["mode"]) policy.mode = reader.choice<Mode>(node["mode"], "policy.mode", parse_mode, {"enforce", "dry_run", "monitor"});
  if (node["default"]) policy.default_action = reader.choice<Action>(node["default"], "policy.default", parse_action, action_choices);
  if (const auto namespaces = node["namespaces"]) {
    reader.expect_map(namespaces, "policy.namespaces", "policy.namespaces");
    if (namespaces["allow"]) policy.namespaces.allow = globs(reader, namespaces["allow"], "policy.namespaces.allow");
    if (namespaces["arguments"]) {
      policy.namespaces.arguments.clear();
      const auto list = namespaces["arguments"];
      const auto texts = reader.strings(list, "policy.namespaces.arguments");
      for (std::size_t i = 0; i < texts.size(); ++i) {
        // Errors point at the entry itself, not at the start of the list.
        const auto entry = list.IsSequence() ? list[i] : list;
        const auto here = list.IsSequence() ? Reader::index("policy.namespaces.arguments", i) : "policy.namespaces.arguments";
        policy.namespaces.arguments.push_back(argument_path(reader, entry, here, texts[i]));
      }
    }
    if (namespaces["all_namespaces"]) {
      policy.namespaces.all_namespaces_flags = reader.strings(namespaces["all_namespaces"], "policy.namespaces.all_namespaces");
    }
  }
  if (node["annotations"]) {
    policy.annotations = reader.choice<AnnotationTrust>(
        node["annotations"], "policy.annotations",
        [](std::string_view text) -> std::optional<AnnotationTrust> {
          if (text == "trust") return AnnotationTrust::trust;
          if (text == "pinned") return AnnotationTrust::pinned;
          if (text == "ignore") return AnnotationTrust::ignore;
          return std::nullopt;
        },
        {"trust", "pinned", "ignore"});
  }
  if (const auto tools = node["tools"]) {
    if (!tools.IsMap()) reader.fail(tools, "policy.tools", "expected a mapping of tool names to read, mutate or destructive");
    for (const auto& entry : tools) {
      const auto name = entry.first.as<std::string>();
      policy.tools[name] = reader.choice<ToolClass>(entry.second, "policy.tools." + name, parse_tool_class,
                                                    {"read", "mutate", "destructive"});
      if (policy.tools[name] == ToolClass::changed) {
        reader.fail(entry.second, "policy.tools." + name, "expected one of read, mutate, destructive, got \"changed\"");
      }
    }
  }
  if (const auto rules = node["rules"]) {
    if (!rules.IsSequence()) reader.fail(rules, "policy.rules", "expected a list of rules");
    policy.rules.clear();
    for (std::size_t i = 0; i < rules.size(); ++i) policy.rules.push_back(rule(reader, rules[i], Reader::index("policy.rules", i)));
    for (std::size_t i = 0; i < policy.rules.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (policy.rules[i].name == policy.rules[j].name) {
          reader.fail(rules[i], Reader::index("policy.rules", i) + ".name",
                      "the name " + json_quoted(policy.rules[i].name) + " is already used by policy.rules[" + std::to_string(j) + "]");
        }
      }
    }
  }
}

// The web UI's section. A password is only checked for its scheme here; the web UI
// parses the whole hash when it starts (policy does not depend on webui).
UiConfig read_ui(const Reader& reader, const YAML::Node& node) {
  UiConfig ui;
  if (node.IsNull()) return ui;
  reader.expect_map(node, "ui", "ui");
  if (node["address"]) {
    ui.address = reader.string(node["address"], "ui.address");
    const auto colon = ui.address.rfind(':');
    const auto port = colon == std::string::npos ? std::string() : ui.address.substr(colon + 1);
    if (colon == 0 || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) > 65535) {
      reader.fail(node["address"], "ui.address", "expected HOST:PORT, such as 127.0.0.1:8766, got " + json_quoted(ui.address));
    }
  }
  if (node["local_approver"]) ui.local_approver = reader.string(node["local_approver"], "ui.local_approver");
  if (const auto users = node["users"]) {
    if (!users.IsSequence()) reader.fail(users, "ui.users", "expected a list of users: [{ name, password, roles }]");
    for (std::size_t i = 0; i < users.size(); ++i) {
      const auto path = Reader::index("ui.users", i);
      const auto& entry = users[i];
      reader.expect_map(entry, path, "ui.users[]");
      if (!entry["name"] || !entry["password"]) reader.fail(entry, path, "a user needs a name and a password");
      UiUserConfig user{reader.string(entry["name"], path + ".name"), reader.string(entry["password"], path + ".password"), {}};
      if (user.name.empty()) reader.fail(entry["name"], path + ".name", "expected a user name");
      if (!user.password.starts_with("scrypt$")) {
        reader.fail(entry["password"], path + ".password",
                    "expected a password hash that starts with \"scrypt$\"; `sluice passwd` prints one");
      }
      if (entry["roles"]) user.roles = reader.strings(entry["roles"], path + ".roles");
      for (const auto& other : ui.users) {
        if (other.name == user.name) reader.fail(entry["name"], path + ".name", "the user " + json_quoted(user.name) + " is listed twice");
      }
      ui.users.push_back(std::move(user));
    }
  }
  return ui;
}

// The name of a file Sluice reads at startup, checked here so that a missing one is
// reported with the line and key that named it.
std::string readable_file(const Reader& reader, const YAML::Node& node, const std::string& path) {
  auto file = reader.string(node, path);
  if (!std::ifstream(file)) reader.fail(node, path, "cannot read " + json_quoted(file) + ": " + std::strerror(errno));
  return file;
}

void read_listen(const Reader& reader, const YAML::Node& node, ListenConfig& listen) {
  reader.expect_map(node, "listen", "listen");
  if (const auto tls = node["tls"]) {
    reader.expect_map(tls, "listen.tls", "listen.tls");
    for (const auto* key : {"cert", "key"}) {
      if (!tls[key]) reader.fail(tls, "listen.tls", std::string("needs both cert and key; ") + key + " is missing");
    }
    listen.tls_certificate = readable_file(reader, tls["cert"], "listen.tls.cert");
    listen.tls_key = readable_file(reader, tls["key"], "listen.tls.key");
  }
  if (node["address"]) listen.address = reader.string(node["address"], "listen.address");
  if (node["path"]) {
    listen.path = reader.string(node["path"], "listen.path");
    if (!listen.path.starts_with('/')) reader.fail(node["path"], "listen.path", "expected a path that starts with /, such as /mcp");
  }
  if (const auto tokens = node["tokens"]) {
    if (!tokens.IsSequence()) reader.fail(tokens, "listen.tokens", "expected a list of {principal, sha256}");
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto path = Reader::index("listen.tokens", i);
      reader.expect_map(tokens[i], path, "listen.tokens[]");
      if (!tokens[i]["principal"] || !tokens[i]["sha256"]) reader.fail(tokens[i], path, "expected both principal and sha256");
      ListenToken token{reader.string(tokens[i]["principal"], path + ".principal"),
                        reader.string(tokens[i]["sha256"], path + ".sha256")};
      for (auto& c : token.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (token.sha256.size() != 64 || token.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        reader.fail(tokens[i]["sha256"], path + ".sha256",
                    "expected the 64 hex digits of the token's SHA-256 (printf %s TOKEN | sha256sum), not the token");
      }
      listen.tokens.push_back(std::move(token));
    }
  }
  if (node["allowed_origins"]) {
    listen.allowed_origins.clear();
    for (auto& origin : reader.strings(node["allowed_origins"], "listen.allowed_origins")) {
      listen.allowed_origins.emplace_back(std::move(origin));
    }
  }
  if (const auto limits = node["limits"]) {
    reader.expect_map(limits, "listen.limits", "listen.limits");
    if (limits["max_sessions"]) listen.max_sessions = reader.positive_int(limits["max_sessions"], "listen.limits.max_sessions");
    if (limits["session_idle"]) listen.session_idle = reader.duration(limits["session_idle"], "listen.limits.session_idle");
    if (limits["max_body_bytes"]) listen.max_body_bytes = reader.positive_int(limits["max_body_bytes"], "listen.limits.max_body_bytes");
    if (limits["max_header_bytes"]) {
      listen.max_header_bytes = reader.positive_int(limits["max_header_bytes"], "listen.limits.max_header_bytes");
    }
    if (limits["header_timeout"]) listen.header_timeout = reader.duration(limits["header_timeout"], "listen.limits.header_timeout");
    if (limits["body_timeout"]) listen.body_timeout = reader.duration(limits["body_timeout"], "listen.limits.body_timeout");
    if (limits["max_connections"]) {
      listen.max_connections = reader.positive_int(limits["max_connections"], "listen.limits.max_connections");
    }
  }
}

// upstream.request_timeout: a duration from 100ms to a day, or off (0) for no limit.
std::chrono::milliseconds request_timeout(const Reader& reader, const YAML::Node& node) {
  const auto text = reader.string(node, "upstream.request_timeout");
  if (text == "off" || text == "0") return std::chrono::milliseconds(0);
  const auto value = parse_duration(text, std::chrono::hours(24));
  if (!value || *value < std::chrono::milliseconds(100)) {
    reader.fail(node, "upstream.request_timeout",
                "expected a duration from 100ms to 24h, such as 30s or 5m, or off, got " + json_quoted(text));
  }
  return *value;
}

Config parse(const YAML::Node& root, const std::string& source) {
  Reader reader(source);
  Config config = default_config();
  config.source = source;
  if (root.IsNull()) return config;
  reader.expect_map(root, "", "");
  if (const auto upstream = root["upstream"]) {
    reader.expect_map(upstream, "upstream", "upstream");
    if (upstream["name"]) config.upstream.name = reader.string(upstream["name"], "upstream.name");
    if (upstream["command"]) {
      config.upstream.command = reader.strings(upstream["command"], "upstream.command");
      if (config.upstream.command.empty()) reader.fail(upstream["command"], "upstream.command", "expected a command and its arguments");
    }
    if (upstream["url"]) {
      if (upstream["command"]) reader.fail(upstream["url"], "upstream.url", "set either upstream.command or upstream.url, not both");
      config.upstream.url = reader.string(upstream["url"], "upstream.url");
      if (!config.upstream.url.starts_with("http://") && !config.upstream.url.starts_with("https://")) {
        reader.fail(upstream["url"], "upstream.url", "expected http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH");
      }
    }
    if (const auto headers = upstream["headers"]) {
      if (!headers.IsMap()) reader.fail(headers, "upstream.headers", "expected a mapping of header names to values");
      for (const auto& entry : headers) {
        const auto name = entry.first.as<std::string>();
        config.upstream.headers.emplace_back(name, reader.string(entry.second, "upstream.headers." + name));
      }
    }
    if (upstream["ca"]) {
      if (!config.upstream.url.starts_with("https://")) {
        reader.fail(upstream["ca"], "upstream.ca", "only for an https:// upstream.url");
      }
      config.upstream.ca = readable_file(reader, upstream["ca"], "upstream.ca");
    }
    if (const auto shared = upstream["shared"]) {
      const auto flag = reader.scalar_value(shared, "upstream.shared");
      if (!flag.is_boolean()) reader.fail(shared, "upstream.shared", "expected true or false");
      if (upstream["url"]) reader.fail(shared, "upstream.shared", "only for an upstream.command");
      config.upstream.shared = flag.get<bool>();
    }
    if (upstream["request_timeout"]) config.upstream.request_timeout = request_timeout(reader, upstream["request_timeout"]);
  }
  if (const auto listen = root["listen"]) read_listen(reader, listen, config.listen);
  if (const auto policy = root["policy"]) read_policy(reader, policy, config.policy);
  if (const auto audit = root["audit"]) {
    reader.expect_map(audit, "audit", "audit");
    if (audit["path"]) config.audit.path = reader.string(audit["path"], "audit.path");
    if (audit["sync"]) {
      config.audit.full_sync = reader.choice<bool>(
          audit["sync"], "audit.sync",
          [](std::string_view text) -> std::optional<bool> {
            if (text == "normal") return false;
            if (text == "full") return true;
            return std::nullopt;
          },
          {"normal", "full"});
    }
    if (audit["redact"]) config.audit.redact = reader.strings(audit["redact"], "audit.redact");
    auto& checkpoints = config.audit.checkpoints;
    if (audit["checkpoint_key"]) checkpoints.key = reader.string(audit["checkpoint_key"], "audit.checkpoint_key");
    if (audit["checkpoint_name"]) checkpoints.name = reader.string(audit["checkpoint_name"], "audit.checkpoint_name");
    if (audit["checkpoint_every"]) {
      checkpoints.every_rows = reader.positive_int(audit["checkpoint_every"], "audit.checkpoint_every");
    }
    if (audit["checkpoint_interval"]) {
      checkpoints.interval = reader.duration(audit["checkpoint_interval"], "audit.checkpoint_interval");
    }
    if (audit["checkpoint_file"]) checkpoints.file = reader.string(audit["checkpoint_file"], "audit.checkpoint_file");
    for (const auto* key : {"checkpoint_key", "checkpoint_file"}) {
      if (audit[key] && config.audit.path.empty()) {
        reader.fail(audit[key], std::string("audit.") + key, "needs audit.path: there is no log to checkpoint");
      }
    }
    if (!checkpoints.key.empty() && checkpoints.file.empty()) checkpoints.file = config.audit.path + ".checkpoint";
  }
  if (const auto approval = root["approval"]) {
    reader.expect_map(approval, "approval", "approval");
    if (approval["hold"]) {
      config.approval.hold = reader.choice<policy::HoldMode>(
          approval["hold"], "approval.hold",
          [](std::string_view text) -> std::optional<policy::HoldMode> {
            if (text == "auto") return policy::HoldMode::automatic;
            if (text == "wait") return policy::HoldMode::wait;
            if (text == "defer") return policy::HoldMode::defer;
            return std::nullopt;
          },
          {"auto", "wait", "defer"});
    }
    if (approval["timeout"]) config.approval.timeout = reader.duration(approval["timeout"], "approval.timeout");
    if (approval["progress_interval"]) {
      config.approval.progress_interval = reader.duration(approval["progress_interval"], "approval.progress_interval");
    }
    if (const auto may = approval["client_may_approve"]) {
      const auto flag = reader.scalar_value(may, "approval.client_may_approve");
      if (!flag.is_boolean()) reader.fail(may, "approval.client_may_approve", "expected true or false");
      config.approval.client_may_approve = flag.get<bool>();
    }
    if (approval["state_key"]) config.approval.state_key = reader.string(approval["state_key"], "approval.state_key");
  }
  if (config.approval.state_key.empty() && !config.audit.path.empty()) {
    config.approval.state_key = config.audit.path + ".approval-key";
  }
  if (const auto ui = root["ui"]) config.ui = read_ui(reader, ui);
  if (const auto dry_run = root["dry_run"]) {
    reader.expect_map(dry_run, "dry_run", "dry_run");
    if (dry_run["argument"]) config.dry_run.argument = reader.string(dry_run["argument"], "dry_run.argument");
  }
  return config;
}

// A string value as written in sluice.yaml: the loader expands `${VAR}` and `$$` in
// every value (not in keys), so a `$` that is meant literally is written `$$`.
std::string literal(std::string_view text) {
  std::string out;
  for (const char c : text) out += c == '$' ? std::string("$$") : std::string(1, c);
  return out;
}

std::vector<std::string> literals(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const auto& text : texts) out.push_back(literal(text));
  return out;
}

// A JSON scalar or list of scalars, as flow YAML that reads back as the same value.
void emit_value(YAML::Emitter& out, const json& value) {
  if (value.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) emit_value(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << literal(value.get<std::string>());
  } else {
    out << value.dump();
  }
}

void emit_matcher(YAML::Emitter& out, const ValueMatcher& matcher) {
  out << YAML::Flow << YAML::BeginMap;
  switch (matcher.kind) {
    case ValueMatcher::Kind::equals: out << YAML::Key << "equals" << YAML::Value; emit_value(out, matcher.expected); break;
    case ValueMatcher::Kind::glob: out << YAML::Key << "glob" << YAML::Value << YAML::DoubleQuoted << literal(matcher.glob->pattern()); break;
    case ValueMatcher::Kind::regex: out << YAML::Key << "regex" << YAML::Value << YAML::DoubleQuoted << literal(matcher.regex_source); break;
    case ValueMatcher::Kind::one_of: out << YAML::Key << "in" << YAML::Value; emit_value(out, json(matcher.one_of)); break;
    case ValueMatcher::Kind::exists: out << YAML::Key << "exists" << YAML::Value << matcher.should_exist; break;
  }
  out << YAML::EndMap;
}

// Every string of the configuration ends up in JSON (decisions, audit records, the
// UI), which must be UTF-8: ill-formed text is refused here, naming its line, rather
// than failing later on the message path. (Reader::string checks each value again
// after YAML escapes and ${VAR} expansion.)
void require_utf8(std::string_view text, const std::string& source_name) {
  std::size_t line = 1;
  for (std::size_t start = 0; start < text.size(); ++line) {
    const auto end = std::min(text.find('\n', start), text.size());
    if (!mcp::is_utf8(text.substr(start, end - start))) {
      throw ConfigError(source_name + ":" + std::to_string(line) + ": not valid UTF-8");
    }
    start = end + 1;
  }
}

}  // namespace

Config load_config_text(std::string_view text, const std::string& source_name) {
  require_utf8(text, source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  try {
    return parse(root, source_name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Config load_config_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path + ": cannot read the file: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  return load_config_text(text.str(), path);
}

std::string literal_value(std::string_view text) { return literal(text); }

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& [section, names] : key_table()) {
    for (const auto name : names) keys.push_back(section.empty() ? std::string(name) : std::string(section) + "." + std::string(name));
  }
  return keys;
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "upstream" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << literal(config.upstream.name);
  if (!config.upstream.command.empty()) {
    out << YAML::Key << "command" << YAML::Value << YAML::Flow << literals(config.upstream.command);
  }
  if (!config.upstream.url.empty()) {
    out << YAML::Key << "url" << YAML::Value << literal(config.upstream.url);
    // Header values may hold secrets expanded from the environment: never printed.
    std::string names;
    for (const auto& header : config.upstream.headers) names += (names.empty() ? "" : ", ") + header.first;
    if (!names.empty()) out << YAML::Comment("headers sent (values not shown): " + names);
    if (!config.upstream.ca.empty()) out << YAML::Key << "ca" << YAML::Value << literal(config.upstream.ca);
  }
  if (config.upstream.shared) out << YAML::Key << "shared" << YAML::Value << true;
  out << YAML::Key << "request_timeout" << YAML::Value
      << (config.upstream.request_timeout.count() == 0 ? std::string("off")
                                                       : format_duration(config.upstream.request_timeout));
  out << YAML::EndMap;
  if (!config.listen.address.empty()) {
    const auto& listen = config.listen;
    out << YAML::Key << "listen" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "address" << YAML::Value << literal(listen.address);
    out << YAML::Key << "path" << YAML::Value << literal(listen.path);
    if (!listen.tls_certificate.empty()) {
      out << YAML::Key << "tls" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "cert" << YAML::Value
          << literal(listen.tls_certificate) << YAML::Key << "key" << YAML::Value << literal(listen.tls_key)
          << YAML::EndMap;
    }
    out << YAML::Key << "tokens" << YAML::Value << YAML::BeginSeq;
    for (const auto& token : listen.tokens) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "principal" << YAML::Value << literal(token.principal)
          << YAML::Key << "sha256" << YAML::Value << token.sha256 << YAML::EndMap;
    }
    out << YAML::EndSeq;
    std::vector<std::string> origins;
    for (const auto& glob : listen.allowed_origins) origins.push_back(literal(glob.pattern()));
    out << YAML::Key << "allowed_origins" << YAML::Value << YAML::Flow << origins;
    out << YAML::Key << "limits" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "max_sessions" << YAML::Value << listen.max_sessions;
    out << YAML::Key << "session_idle" << YAML::Value << (std::to_string(listen.session_idle.count()) + "s");
    out << YAML::Key << "max_body_bytes" << YAML::Value << listen.max_body_bytes;
    out << YAML::Key << "max_header_bytes" << YAML::Value << listen.max_header_bytes;
    out << YAML::Key << "header_timeout" << YAML::Value << (std::to_string(listen.header_timeout.count()) + "s");
    out << YAML::Key << "body_timeout" << YAML::Value << (std::to_string(listen.body_timeout.count()) + "s");
    out << YAML::Key << "max_connections" << YAML::Value << listen.max_connections;
    out << YAML::EndMap << YAML::EndMap;
  }
  const auto& policy = config.policy;
  out << YAML::Key << "policy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "mode" << YAML::Value << std::string(to_string(policy.mode));
  out << YAML::Key << "default" << YAML::Value << std::string(to_string(policy.default_action));
  out << YAML::Key << "namespaces" << YAML::Value << YAML::BeginMap;
  std::vector<std::string> allow;
  for (const auto& glob : policy.namespaces.allow) allow.push_back(literal(glob.pattern()));
  out << YAML::Key << "allow" << YAML::Value << YAML::Flow << allow;
  if (allow.empty()) out << YAML::Comment("every namespace");
  std::vector<std::string> arguments;
  for (const auto& path : policy.namespaces.arguments) arguments.push_back(literal(path.text()));
  out << YAML::Key << "arguments" << YAML::Value << YAML::Flow << arguments;
  std::vector<std::string> all_namespaces;
  for (const auto& flag : policy.namespaces.all_namespaces_flags) all_namespaces.push_back(literal(flag));
  out << YAML::Key << "all_namespaces" << YAML::Value << YAML::Flow << all_namespaces;
  out << YAML::EndMap;
  out << YAML::Key << "annotations" << YAML::Value << std::string(to_string(policy.annotations));
  out << YAML::Key << "tools" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, tool_class] : policy.tools) out << YAML::Key << name << YAML::Value << std::string(to_string(tool_class));
  out << YAML::EndMap;
  out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& rule : policy.rules) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << literal(rule.name);
    out << YAML::Key << "match" << YAML::Value << YAML::Flow << YAML::BeginMap;
    const auto patterns = [&](const char* key, const std::vector<Glob>& list) {
      if (list.empty()) return;
      std::vector<std::string> texts;
      for (const auto& glob : list) texts.push_back(literal(glob.pattern()));
      out << YAML::Key << key << YAML::Value << texts;
    };
    patterns("tool", rule.match.tools);
    if (!rule.match.classes.empty()) {
      std::vector<std::string> classes;
      for (const auto tool_class : rule.match.classes) classes.emplace_back(to_string(tool_class));
      out << YAML::Key << "class" << YAML::Value << classes;
    }
    patterns("method", rule.match.methods);
    patterns("upstream", rule.match.upstreams);
    patterns("principal", rule.match.principals);
    if (!rule.match.arguments.empty()) {
      out << YAML::Key << "args" << YAML::Value << YAML::BeginMap;
      for (const auto& condition : rule.match.arguments) {
        out << YAML::Key << condition.path.text() << YAML::Value;
        emit_matcher(out, condition.matcher);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::Key << "action" << YAML::Value << std::string(to_string(rule.action));
    if (!rule.reason.empty()) out << YAML::Key << "reason" << YAML::Value << literal(rule.reason);
    if (rule.approval) {
      out << YAML::Key << "approval" << YAML::Value << YAML::BeginMap;
      if (rule.approval->timeout) out << YAML::Key << "timeout" << YAML::Value << std::to_string(rule.approval->timeout->count()) + "s";
      if (!rule.approval->approvers.empty()) out << YAML::Key << "approvers" << YAML::Value << YAML::Flow << literals(rule.approval->approvers);
      out << YAML::Key << "quorum" << YAML::Value << rule.approval->quorum;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  if (!config.audit.path.empty()) {
    out << YAML::Key << "audit" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << literal(config.audit.path);
    out << YAML::Key << "sync" << YAML::Value << (config.audit.full_sync ? "full" : "normal");
    out << YAML::Key << "redact" << YAML::Value << YAML::Flow << literals(config.audit.redact);
    const auto& checkpoints = config.audit.checkpoints;
    if (!checkpoints.key.empty()) {
      out << YAML::Key << "checkpoint_key" << YAML::Value << literal(checkpoints.key);
      out << YAML::Key << "checkpoint_name" << YAML::Value << literal(checkpoints.name);
      out << YAML::Key << "checkpoint_every" << YAML::Value << checkpoints.every_rows;
      out << YAML::Key << "checkpoint_interval" << YAML::Value << (std::to_string(checkpoints.interval.count()) + "s");
      out << YAML::Key << "checkpoint_file" << YAML::Value << literal(checkpoints.file);
    }
    out << YAML::EndMap;
  }
  out << YAML::Key << "approval" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "hold" << YAML::Value
      << (config.approval.hold == HoldMode::defer ? "defer" : config.approval.hold == HoldMode::wait ? "wait" : "auto");
  out << YAML::Key << "client_may_approve" << YAML::Value << config.approval.client_may_approve;
  if (!config.approval.state_key.empty()) out << YAML::Key << "state_key" << YAML::Value << literal(config.approval.state_key);
  out << YAML::Key << "timeout" << YAML::Value << (std::to_string(config.approval.timeout.count()) + "s");
  out << YAML::Key << "progress_interval" << YAML::Value
      << (std::to_string(config.approval.progress_interval.count()) + "s");
  out << YAML::EndMap;
  if (config.ui) {
    out << YAML::Key << "ui" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "address" << YAML::Value << literal(config.ui->address);
    out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
    for (const auto& user : config.ui->users) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << literal(user.name);
      out << YAML::Key << "password" << YAML::Value << literal(user.password);
      out << YAML::Key << "roles" << YAML::Value << YAML::Flow << literals(user.roles);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    if (config.ui->users.empty()) out << YAML::Comment("no login: loopback only");
    if (!config.ui->local_approver.empty()) out << YAML::Key << "local_approver" << YAML::Value << literal(config.ui->local_approver);
    out << YAML::EndMap;
  }
  out << YAML::Key << "dry_run" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "argument" << YAML::Value << literal(config.dry_run.argument);
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace sluice::policy
