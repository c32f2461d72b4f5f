// Randomized checks of the engine against a model of the configuration that the test
// writes itself: random policies (rendered to sluice.yaml and loaded) and random
// calls, with fixed seeds so that a failure reproduces.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config_loader.h"
#include "policy/engine.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {


// A deliberately naive glob, independent of policy/glob.cc.
bool reference_glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.front() == '*') {
    return reference_glob(pattern.substr(1), text) ||
           (!text.empty() && reference_glob(pattern, text.substr(1)));
  }
  if (text.empty()) return false;
  return (pattern.front() == '?' || pattern.front() == text.front()) &&
         reference_glob(pattern.substr(1), text.substr(1));
}

bool any_reference_glob(const std::vector<std::string>& patterns, std::string_view text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const auto& p) { return reference_glob(p, text); });
}

class Random {
 public:
  explicit Random(std::uint32_t seed) : engine_(seed) {}
  std::size_t below(std::size_t n) { return engine_() % n; }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  std::string text(std::string_view alphabet, std::size_t max_length) {
    std::string out(below(max_length + 1), ' ');
    for (auto& c : out) c = alphabet[below(alphabet.size())];
    return out;
  }

 private:
  std::mt19937 engine_;
};

const std::vector<ToolClass> all_classes = {ToolClass::read, ToolClass::mutate, ToolClass::destructive,
                                            ToolClass::changed};
const std::vector<Action> all_actions = {Action::allow, Action::deny, Action::dry_run,
                                         Action::require_approval};
const std::vector<Mode> all_modes = {Mode::enforce, Mode::dry_run, Mode::monitor};
const std::vector<std::string> namespaces = {"default", "prod", "team-a", "team-b", "a*"};
const std::vector<std::string> argument_keys = {"namespace", "name", "replicas", "/metadata/namespace",
                                                "/items/0"};

std::string quoted(const std::string& text) { return json(text).dump(); }

// Where a value is, as the test reads it: independent of ArgumentPath.
const json* lookup(const json& arguments, const std::string& key) {
  if (key.front() != '/') return arguments.contains(key) ? &arguments[key] : nullptr;
  if (key == "/metadata/namespace") {
    if (!arguments.contains("metadata") || !arguments["metadata"].is_object()) return nullptr;
    const auto& metadata = arguments["metadata"];
    return metadata.contains("namespace") ? &metadata["namespace"] : nullptr;
  }
  // "/items/0"
  if (!arguments.contains("items") || !arguments["items"].is_array() || arguments["items"].empty())
    return nullptr;
  return &arguments["items"][0];
}

struct ModelCondition {
  enum class Kind { plain_glob, glob, plain_number, equals, plain_list, in, exists, regex } kind;
  std::string key;
  std::string pattern;
  json value;
  bool exists = true;

  [[nodiscard]] std::string yaml() const {
    switch (kind) {
      case Kind::plain_glob: return quoted(pattern);
      case Kind::glob: return "{ glob: " + quoted(pattern) + " }";
      case Kind::plain_number: return value.dump();
      case Kind::equals: return "{ equals: " + value.dump() + " }";
      case Kind::plain_list: return value.dump();
      case Kind::in: return "{ in: " + value.dump() + " }";
      case Kind::exists: return exists ? "{ exists: true }" : "{ exists: false }";
      case Kind::regex: return "{ regex: " + quoted(pattern) + " }";
    }
    return "?";
  }

  [[nodiscard]] bool holds(const json& arguments) const {
    const json* found = lookup(arguments, key);
    if (kind == Kind::exists) return (found != nullptr) == exists;
    if (found == nullptr) return false;
    switch (kind) {
      case Kind::plain_glob:
      case Kind::glob: return found->is_string() && reference_glob(pattern, found->get<std::string>());
      case Kind::plain_number:
      case Kind::equals: return *found == value;
      case Kind::plain_list:
      case Kind::in: return std::find(value.begin(), value.end(), *found) != value.end();
      case Kind::regex: {
        if (!found->is_string()) return false;
        const auto text = found->get<std::string>();
        if (pattern == "^a") return text.starts_with("a");
        if (pattern == "b$") return text.ends_with("b");
        return text.find("a_b") != std::string::npos;
      }
      case Kind::exists: break;
    }
    return false;
  }
};

struct ModelRule {
  std::string name;
  std::vector<std::string> tools;
  std::vector<ToolClass> classes;
  std::vector<std::string> methods;
  std::vector<std::string> upstreams;
  std::vector<std::string> principals;
  std::vector<ModelCondition> arguments;
  Action action = Action::deny;
};

struct ModelCall {
  std::string tool;
  ToolClass tool_class = ToolClass::mutate;
  json arguments;
  std::string upstream;
  std::string principal;
  std::string method;
  bool takes_namespace = false;
};

bool rule_matches(const ModelRule& rule, const ModelCall& call) {
  if (!rule.tools.empty() && !any_reference_glob(rule.tools, call.tool)) return false;
  if (!rule.classes.empty() &&
      std::find(rule.classes.begin(), rule.classes.end(), call.tool_class) == rule.classes.end()) {
    return false;
  }
  if (!rule.methods.empty() && !any_reference_glob(rule.methods, call.method)) return false;
  if (!rule.upstreams.empty() && !any_reference_glob(rule.upstreams, call.upstream)) return false;
  if (!rule.principals.empty() && !any_reference_glob(rule.principals, call.principal)) return false;
  return std::all_of(rule.arguments.begin(), rule.arguments.end(),
                     [&](const auto& c) { return c.holds(call.arguments); });
}

struct ModelPolicy {
  Mode mode = Mode::enforce;
  Action default_action = Action::require_approval;
  std::vector<std::string> allow;
  std::vector<ModelRule> rules;

  [[nodiscard]] const ModelRule* rule_named(const std::string& name) const {
    for (const auto& rule : rules) {
      if (rule.name == name) return &rule;
    }
    return nullptr;
  }

  // Every namespace the call names, as the test understands DESIGN.md: the
  // `namespace` argument, /metadata/namespace, and manifests' metadata.namespace.
  // A value that is not a string still names something, as its JSON text.
  [[nodiscard]] std::vector<std::string> namespaces_of(const ModelCall& call) const {
    std::vector<std::string> out;
    const auto add = [&](const json* value) {
      if (value != nullptr && !value->is_null()) out.push_back(value->is_string() ? value->get<std::string>() : value->dump());
    };
    add(lookup(call.arguments, "namespace"));
    add(lookup(call.arguments, "/metadata/namespace"));
    if (call.arguments.contains("manifest")) add(lookup(call.arguments["manifest"], "/metadata/namespace"));
    if (out.empty() && call.takes_namespace) out.emplace_back("default");
    return out;
  }

  [[nodiscard]] bool namespace_refused(const ModelCall& call) const {
    if (allow.empty()) return false;
    const auto named = namespaces_of(call);
    return std::any_of(named.begin(), named.end(),
                       [&](const auto& ns) { return !any_reference_glob(allow, ns); });
  }

  [[nodiscard]] std::string yaml() const {
    std::string out = "policy:\n";
    out += "  mode: " + std::string(to_string(mode)) + "\n";
    out += "  default: " + std::string(to_string(default_action)) + "\n";
    out += "  namespaces:\n    allow: [";
    for (std::size_t i = 0; i < allow.size(); ++i) out += (i ? ", " : "") + quoted(allow[i]);
    out += rules.empty() ? "]\n  rules: []\n" : "]\n  rules:\n";
    const auto list = [](const std::vector<std::string>& items) {
      std::string text = "[";
      for (std::size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + quoted(items[i]);
      return text + "]";
    };
    for (const auto& rule : rules) {
      std::string conditions;
      if (!rule.tools.empty()) conditions += "        tool: " + list(rule.tools) + "\n";
      if (!rule.classes.empty()) {
        std::vector<std::string> names;
        for (const auto c : rule.classes) names.emplace_back(to_string(c));
        conditions += "        class: " + list(names) + "\n";
      }
      if (!rule.methods.empty()) conditions += "        method: " + list(rule.methods) + "\n";
      if (!rule.upstreams.empty()) conditions += "        upstream: " + list(rule.upstreams) + "\n";
      if (!rule.principals.empty()) conditions += "        principal: " + list(rule.principals) + "\n";
      if (!rule.arguments.empty()) {
        conditions += "        args:\n";
        for (const auto& c : rule.arguments)
          conditions += "          " + quoted(c.key) + ": " + c.yaml() + "\n";
      }
      out += "    - name: " + rule.name + "\n      action: " + std::string(to_string(rule.action)) + "\n";
      out += conditions.empty() ? "      match: {}\n" : "      match:\n" + conditions;
    }
    return out;
  }
};

ModelCondition random_condition(Random& random) {
  ModelCondition c{
      static_cast<ModelCondition::Kind>(random.below(8)), random.pick(argument_keys), {}, {}, true};
  const auto random_value = [&]() -> json {
    if (random.chance(50)) return static_cast<int>(random.below(4));
    return random.text("ab*_", 3);
  };
  switch (c.kind) {
    case ModelCondition::Kind::plain_glob:
    case ModelCondition::Kind::glob: c.pattern = random.text("ab**?_", 3); break;
    case ModelCondition::Kind::plain_number: c.value = static_cast<int>(random.below(4)); break;
    case ModelCondition::Kind::equals: c.value = random_value(); break;
    case ModelCondition::Kind::plain_list:
    case ModelCondition::Kind::in:
      c.value = json::array();
      for (std::size_t i = 0, n = 1 + random.below(3); i < n; ++i) c.value.push_back(random_value());
      break;
    case ModelCondition::Kind::exists: c.exists = random.chance(50); break;
    case ModelCondition::Kind::regex:
      c.pattern = random.pick(std::vector<std::string>{"^a", "b$", "a_b"});
      break;
  }
  return c;
}

ModelPolicy random_policy(Random& random) {
  ModelPolicy policy;
  policy.mode = random.pick(all_modes);
  policy.default_action = random.pick(all_actions);
  for (std::size_t i = 0, n = random.chance(50) ? 0 : 1 + random.below(2); i < n; ++i) {
    policy.allow.push_back(random.pick(std::vector<std::string>{"default", "team-*", "prod", "*", "?*-b"}));
  }
  for (std::size_t i = 0, n = random.below(6); i < n; ++i) {
    ModelRule rule;
    rule.name = "r" + std::to_string(i);
    rule.action = random.pick(all_actions);
    if (random.chance(60)) {
      for (std::size_t j = 0, m = 1 + random.below(2); j < m; ++j)
        rule.tools.push_back(random.text("ab_**?", 3));
    }
    if (random.chance(40)) {
      for (const auto c : all_classes) {
        if (random.chance(50)) rule.classes.push_back(c);
      }
    }
    if (random.chance(10))
      rule.methods.push_back(random.pick(std::vector<std::string>{"tools/*", "resources/*", "tools/call"}));
    if (random.chance(15))
      rule.upstreams.push_back(random.pick(std::vector<std::string>{"kube", "gh*", "*"}));
    if (random.chance(15))
      rule.principals.push_back(random.pick(std::vector<std::string>{"alice", "sre-*", "?ob"}));
    if (random.chance(50)) {
      for (std::size_t j = 0, m = 1 + random.below(2); j < m; ++j) {
        auto condition = random_condition(random);
        const bool repeated = std::any_of(rule.arguments.begin(), rule.arguments.end(),
                                          [&](const auto& other) { return other.key == condition.key; });
        if (!repeated) rule.arguments.push_back(std::move(condition));
      }
    }
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

ModelCall random_call(Random& random) {
  ModelCall call;
  call.tool = random.text("ab_", 3);
  call.tool_class = random.pick(all_classes);
  call.upstream = random.pick(std::vector<std::string>{"kube", "github"});
  call.principal = random.pick(std::vector<std::string>{"alice", "sre-bob", "bob", ""});
  call.method = random.chance(90) ? "tools/call" : "resources/read";
  call.takes_namespace = random.chance(50);
  call.arguments = json::object();
  const auto value = [&]() -> json {
    switch (random.below(4)) {
      case 0: return static_cast<int>(random.below(4));
      case 1: return random.pick(namespaces);
      default: return random.text("ab*_", 3);
    }
  };
  if (random.chance(50))
    call.arguments["namespace"] = random.chance(80) ? json(random.pick(namespaces)) : value();
  if (random.chance(40)) call.arguments["name"] = value();
  if (random.chance(40)) call.arguments["replicas"] = value();
  if (random.chance(25)) call.arguments["metadata"] = {{"namespace", random.pick(namespaces)}};
  if (random.chance(25)) call.arguments["items"] = json::array({value(), value()});
  if (random.chance(20))
    call.arguments["manifest"] = {{"metadata", {{"namespace", random.pick(namespaces)}}}};
  return call;
}

Decision decide(const PolicyEngine& engine, const ModelCall& call) {
  return engine.decide({call.tool, call.arguments, call.upstream, call.principal, call.method},
                       {call.tool_class, "annotations"}, call.takes_namespace);
}

constexpr int policies_per_seed = 700;
constexpr int calls_per_policy = 8;

// Runs `check` on many random policies and calls; the seed and the policy are
// reported when a check fails.
template <class Check>
void for_random_calls(Check check) {
  const auto seed = GENERATE(as<std::uint32_t>{}, 1, 2, 3, 20240601);
  Random random(seed);
  for (int i = 0; i < policies_per_seed; ++i) {
    const auto model = random_policy(random);
    const auto yaml = model.yaml();
    INFO("seed " << seed << ", policy " << i << ":\n" << yaml);
    PolicyConfig config;
    REQUIRE_NOTHROW(config = load_config_text(yaml, "random.yaml").policy);
    REQUIRE(config.rules.size() == model.rules.size());
    const PolicyEngine engine(std::move(config));
    for (int j = 0; j < calls_per_policy; ++j) {
      const auto call = random_call(random);
      const auto decision = decide(engine, call);
      INFO("call " << call.tool << " (" << to_string(call.tool_class) << ") by " << call.principal << " via "
                   << call.upstream << " " << call.method
                   << (call.takes_namespace ? " takes a namespace" : "") << " " << call.arguments.dump()
                   << " -> " << to_string(decision.action) << " by " << decision.rule);
      check(model, engine, call, decision);
    }
  }
}

TEST_CASE(
    "a call that is not a read is allowed only by an allow rule that matches it, an allow default, or "
    "monitor mode") {
  for_random_calls(
      [](const ModelPolicy& model, const PolicyEngine&, const ModelCall& call, const Decision& decision) {
        if (decision.action != Action::allow || call.tool_class == ToolClass::read) return;
        if (model.mode == Mode::monitor) return;
        if (decision.rule == "default") {
          CHECK(model.default_action == Action::allow);
          return;
        }
        const auto* rule = model.rule_named(decision.rule);
        REQUIRE(rule != nullptr);
        CHECK(rule->action == Action::allow);
        CHECK(rule_matches(*rule, call));
      });
}

TEST_CASE("in dry_run mode a call that is not a read is never allowed") {
  for_random_calls(
      [](const ModelPolicy& model, const PolicyEngine&, const ModelCall& call, const Decision& decision) {
        if (model.mode != Mode::dry_run || call.tool_class == ToolClass::read) return;
        CHECK(decision.action != Action::allow);
        CHECK(decision.action != Action::require_approval);
      });
}

TEST_CASE("a call naming a namespace outside a non-empty allowlist is denied unless in monitor mode") {
  for_random_calls(
      [](const ModelPolicy& model, const PolicyEngine&, const ModelCall& call, const Decision& decision) {
        if (!model.namespace_refused(call)) return;
        CHECK(decision.policy_action == Action::deny);
        CHECK(decision.rule == "namespaces");
        if (model.mode != Mode::monitor) CHECK(decision.action == Action::deny);
      });
}

TEST_CASE("the engine decides as a plain reading of the configuration would") {
  for_random_calls(
      [](const ModelPolicy& model, const PolicyEngine&, const ModelCall& call, const Decision& decision) {
        std::string rule = "default";
        Action action = model.default_action;
        if (model.namespace_refused(call)) {
          rule = "namespaces";
          action = Action::deny;
        } else {
          for (const auto& candidate : model.rules) {
            if (rule_matches(candidate, call)) {
              rule = candidate.name;
              action = candidate.action;
              break;
            }
          }
        }
        CHECK(decision.rule == rule);
        CHECK(decision.policy_action == action);
        if (model.mode == Mode::monitor) {
          CHECK(decision.action == Action::allow);
          CHECK(decision.monitor_only);
        } else if (model.mode == Mode::dry_run && call.tool_class != ToolClass::read &&
                   (action == Action::allow || action == Action::require_approval)) {
          CHECK(decision.action == Action::dry_run);
        } else {
          CHECK(decision.action == action);
        }
      });
}

TEST_CASE("a tool denied outright is denied whatever its arguments") {
  for_random_calls([](const ModelPolicy&, const PolicyEngine& engine, const ModelCall& call,
                      const Decision& decision) {
    if (call.method != "tools/call") return;
    if (!engine.denies_outright(call.tool, {call.tool_class, "annotations"}, call.upstream, call.principal))
      return;
    CHECK(decision.action == Action::deny);
  });
}

}  // namespace
}  // namespace sluice::policy
