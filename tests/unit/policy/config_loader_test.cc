#include "policy/config_loader.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice::policy {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::chrono_literals;

Config load(std::string_view yaml) { return load_config_text(yaml, "sluice.yaml"); }

// The message of the ConfigError that loading `yaml` throws.
std::string error_of(std::string_view yaml) {
  try {
    (void)load(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("loading did not throw a ConfigError:\n" << yaml);
  return {};
}

std::vector<std::string> patterns_of(const std::vector<Glob>& globs) {
  std::vector<std::string> out;
  for (const auto& glob : globs) out.push_back(glob.pattern());
  return out;
}

// DESIGN.md's example, without the sections this version refuses.
constexpr std::string_view design_example = R"(upstream:
  name: kube
  command: [sluice-kube, --log-level, debug]
policy:
  mode: enforce
  default: require_approval
  namespaces:
    allow: [default, "staging-*"]
    arguments: [namespace, /metadata/namespace]
  annotations: pinned
  tools: { pods_list: read, deployments_scale: mutate }
  rules:
    - { name: reads, match: { class: read }, action: allow }
    - { name: no-deletes, match: { tool: "*_delete" }, action: deny, reason: "deletions need a human at a terminal" }
    - name: prod-changes
      match: { tool: "deployments_*", args: { namespace: "prod-*" } }
      action: require_approval
      approval: { timeout: 15m, approvers: [sre-leads], quorum: 2 }
    - { name: scale-preview, match: { tool: deployments_scale }, action: dry_run }
dry_run:
  argument: simulate
)";

TEST_CASE("the design's example configuration loads into the typed model") {
  const auto config = load(design_example);

  CHECK(config.source == "sluice.yaml");
  CHECK(config.upstream.name == "kube");
  CHECK(config.upstream.command == std::vector<std::string>{"sluice-kube", "--log-level", "debug"});
  CHECK(config.dry_run.argument == "simulate");

  const auto& policy = config.policy;
  CHECK(policy.mode == Mode::enforce);
  CHECK(policy.default_action == Action::require_approval);
  CHECK(patterns_of(policy.namespaces.allow) == std::vector<std::string>{"default", "staging-*"});
  REQUIRE(policy.namespaces.arguments.size() == 2);
  CHECK(policy.namespaces.arguments[0].text() == "namespace");
  CHECK_FALSE(policy.namespaces.arguments[0].is_pointer());
  CHECK(policy.namespaces.arguments[1].text() == "/metadata/namespace");
  CHECK(policy.namespaces.arguments[1].is_pointer());
  CHECK(policy.annotations == AnnotationTrust::pinned);
  CHECK(policy.tools == std::map<std::string, ToolClass, std::less<>>{
                            {"pods_list", ToolClass::read}, {"deployments_scale", ToolClass::mutate}});

  REQUIRE(policy.rules.size() == 4);
  const auto& reads = policy.rules[0];
  CHECK(reads.name == "reads");
  CHECK(reads.match.classes == std::vector<ToolClass>{ToolClass::read});
  CHECK(reads.match.tools.empty());
  CHECK(reads.action == Action::allow);
  CHECK(reads.line == 13);

  const auto& no_deletes = policy.rules[1];
  CHECK(no_deletes.name == "no-deletes");
  CHECK(patterns_of(no_deletes.match.tools) == std::vector<std::string>{"*_delete"});
  CHECK(no_deletes.action == Action::deny);
  CHECK(no_deletes.reason == "deletions need a human at a terminal");
  CHECK_FALSE(no_deletes.approval.has_value());
  CHECK(no_deletes.line == 14);

  const auto& prod = policy.rules[2];
  CHECK(prod.name == "prod-changes");
  CHECK(patterns_of(prod.match.tools) == std::vector<std::string>{"deployments_*"});
  REQUIRE(prod.match.arguments.size() == 1);
  CHECK(prod.match.arguments[0].path.text() == "namespace");
  CHECK(prod.match.arguments[0].matcher.kind == ValueMatcher::Kind::glob);
  CHECK(prod.match.arguments[0].matcher.glob->pattern() == "prod-*");
  CHECK(prod.action == Action::require_approval);
  REQUIRE(prod.approval.has_value());
  CHECK(prod.approval->timeout == std::chrono::seconds(15min));
  CHECK(prod.approval->approvers == std::vector<std::string>{"sre-leads"});
  CHECK(prod.approval->quorum == 2);
  CHECK(prod.line == 15);

  const auto& preview = policy.rules[3];
  CHECK(preview.name == "scale-preview");
  CHECK(preview.action == Action::dry_run);
  CHECK(preview.line == 19);
}

TEST_CASE("keys left out keep their defaults") {
  SECTION("an empty document is the default configuration") {
    const auto text = to_yaml(load(""));
    auto expected = default_config();
    expected.source = "sluice.yaml";
    CHECK(text == to_yaml(expected));
    CHECK(load("# only a comment\n").policy.rules.size() == default_config().policy.rules.size());
  }
  SECTION("a policy without rules keeps the built-in read rule") {
    const auto config = load("policy:\n  default: deny\n");
    CHECK(config.policy.default_action == Action::deny);
    REQUIRE(config.policy.rules.size() == 1);
    CHECK(config.policy.rules[0].name == "reads");
  }
  SECTION("an explicitly empty rule list has no rules") {
    CHECK(load("policy:\n  rules: []\n").policy.rules.empty());
  }
  SECTION("a rule without a name is named after its place") {
    const auto config = load("policy:\n  rules:\n    - { match: {}, action: deny }\n");
    REQUIRE(config.policy.rules.size() == 1);
    CHECK(config.policy.rules[0].name == "policy.rules[0]");
  }
  SECTION("a rule with an empty match matches everything, written either way") {
    const auto config = load(
        "policy:\n  rules:\n    - { name: a, match: {}, action: deny }\n    - { name: b, match: , action: "
        "deny }\n");
    REQUIRE(config.policy.rules.size() == 2);
    CHECK(config.policy.rules[1].match.tools.empty());
    CHECK(config.policy.rules[1].match.arguments.empty());
  }
  SECTION("a single class or tool may be written without a list") {
    const auto config = load(
        "policy:\n  rules:\n    - { name: a, match: { tool: x, class: [mutate, changed] }, action: deny }\n");
    CHECK(patterns_of(config.policy.rules[0].match.tools) == std::vector<std::string>{"x"});
    CHECK(config.policy.rules[0].match.classes ==
          std::vector<ToolClass>{ToolClass::mutate, ToolClass::changed});
  }
}

TEST_CASE("text that is not YAML is refused with the line of the problem") {
  SECTION("a mapping value where none may be") {
    CHECK_THAT(error_of("upstream:\n  name: kube\n  command: a: b\npolicy: {}\n"),
               StartsWith("sluice.yaml:3: not valid YAML: "));
  }
  SECTION("a flow collection that is never closed") {
    CHECK_THAT(error_of("policy:\n  mode: enforce\n  rules: [ { name: a\n"),
               StartsWith("sluice.yaml:4: not valid YAML: end of map flow not found"));
  }
}

// Found by the config_load fuzz target: an error message quoted a value with a stray
// byte through nlohmann, which threw its own type_error instead of the ConfigError.
TEST_CASE("text that is not UTF-8 is refused with its line, before anything else") {
  CHECK(error_of("policy:\n  default: allow\nupstream:\n  command: [\"${HOME\xd0}\"]\n") ==
        "sluice.yaml:4: not valid UTF-8");
  CHECK(error_of("policy:\n  rules: [{ name: \"r\x96\", match: {}, action: allow }]\n") ==
        "sluice.yaml:2: not valid UTF-8");
}

// Also found by the fuzzer: yaml-cpp turns a NUL inside a plain scalar into bytes that
// are not UTF-8, so each value is checked again as it is read.
TEST_CASE("a value that YAML decodes to something other than UTF-8 is refused with its key") {
  constexpr char text[] = "policy:\n  default: require\0_approval\n";
  CHECK_THAT(error_of(std::string_view(text, sizeof text - 1)),
             StartsWith("sluice.yaml:2: policy.default: expected UTF-8 text, got \"require"));
}

TEST_CASE("an unknown key is refused, naming its line and path and the keys allowed there") {
  SECTION("at the top level") {
    CHECK_THAT(
        error_of("upstream:\n  name: kube\nupstreams: {}\n"),
        StartsWith(
            "sluice.yaml:3: upstreams: unknown key; expected one of upstream, listen, policy, audit, ui, approval, dry_run"));
  }
  SECTION("in upstream") {
    CHECK_THAT(error_of("upstream:\n  uri: http://mcp.internal/mcp\n"),
               StartsWith("sluice.yaml:2: upstream.uri: unknown key; expected one of name, command, url, headers"));
  }
  SECTION("in policy") {
    CHECK_THAT(
        error_of("policy:\n  mode: enforce\n  defaults: deny\n"),
        StartsWith("sluice.yaml:3: policy.defaults: unknown key; expected one of mode, default, namespaces, "
                   "annotations, tools, rules"));
  }
  SECTION("in policy.namespaces") {
    CHECK_THAT(
        error_of("policy:\n  namespaces:\n    allowed: [default]\n"),
        StartsWith(
            "sluice.yaml:3: policy.namespaces.allowed: unknown key; expected one of allow, arguments"));
  }
  SECTION("in a rule") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - name: a\n      match: {}\n      action: deny\n      why: no\n"),
        StartsWith("sluice.yaml:6: policy.rules[0].why: unknown key; expected one of name, match, action, "
                   "reason, approval"));
  }
  SECTION("in a rule's match") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { tools: x } }\n"),
        StartsWith("sluice.yaml:3: policy.rules[0].match.tools: unknown key; expected one of tool, class, "
                   "method, upstream, principal, args"));
  }
  SECTION("in a rule's approval") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - name: a\n      match: {}\n      action: require_approval\n"
                 "      approval: { timeout: 5m,\n                  approver: [x] }\n"),
        StartsWith("sluice.yaml:7: policy.rules[0].approval.approver: unknown key; expected one of timeout, "
                   "approvers, quorum"));
  }
  SECTION("in an argument condition") {
    CHECK_THAT(
        error_of(
            "policy:\n  rules:\n    - { name: a, action: deny, match: { args: { ns: { like: x } } } }\n"),
        StartsWith("sluice.yaml:3: policy.rules[0].match.args.ns.like: unknown key; expected one of equals, "
                   "glob, regex, in, exists"));
  }
  SECTION("in dry_run") {
    CHECK_THAT(error_of("dry_run:\n  argument: dryRun\n  flag: x\n"),
               StartsWith("sluice.yaml:3: dry_run.flag: unknown key; expected one of argument"));
  }
}

TEST_CASE("the upstream may be a remote server, with headers expanded from the environment") {
  ::setenv("SLUICE_TEST_UPSTREAM_TOKEN", "t0ken", 1);
  const auto config = load(
      "upstream:\n  url: http://127.0.0.1:3001/mcp\n  headers: { Authorization: \"Bearer ${SLUICE_TEST_UPSTREAM_TOKEN}\" }\n");
  CHECK(config.upstream.url == "http://127.0.0.1:3001/mcp");
  REQUIRE(config.upstream.headers.size() == 1);
  CHECK(config.upstream.headers[0] == std::pair<std::string, std::string>("Authorization", "Bearer t0ken"));
  CHECK_THAT(to_yaml(config), !Contains("t0ken"));
  CHECK_THAT(error_of("upstream:\n  command: [x]\n  url: http://a/mcp\n"),
             StartsWith("sluice.yaml:3: upstream.url: set either upstream.command or upstream.url"));
  CHECK_THAT(error_of("upstream:\n  url: ftp://a/mcp\n"), StartsWith("sluice.yaml:2: upstream.url: expected http://"));
}

// A file that exists for as long as the test needs it, for keys that name files.
class ScratchFile {
 public:
  explicit ScratchFile(std::string name) : path_(std::move(name)) { std::ofstream(path_) << "PEM\n"; }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("an https upstream may name the CA certificates to verify it against") {
  const ScratchFile ca("sluice-config-loader-test-ca.pem");
  const auto config = load("upstream:\n  url: https://mcp.internal/mcp\n  ca: " + ca.path() + "\n");
  CHECK(config.upstream.url == "https://mcp.internal/mcp");
  CHECK(config.upstream.ca == ca.path());
  CHECK(load_config_text(to_yaml(config), "normalized").upstream.ca == ca.path());
  CHECK(load("upstream:\n  url: https://mcp.internal/mcp\n").upstream.ca.empty());
  CHECK_THAT(error_of("upstream:\n  url: http://a/mcp\n  ca: " + ca.path() + "\n"),
             StartsWith("sluice.yaml:3: upstream.ca: only for an https:// upstream.url"));
  CHECK_THAT(error_of("upstream:\n  url: https://a/mcp\n  ca: no-such-ca.pem\n"),
             StartsWith("sluice.yaml:3: upstream.ca: cannot read \"no-such-ca.pem\": No such file"));
}

TEST_CASE("a command upstream may be shared by every HTTP session") {
  const auto config = load("upstream:\n  command: [server]\n  shared: true\n");
  CHECK(config.upstream.shared);
  CHECK(load_config_text(to_yaml(config), "normalized").upstream.shared);
  CHECK_FALSE(load("upstream:\n  command: [server]\n").upstream.shared);
  CHECK_THAT(error_of("upstream:\n  command: [server]\n  shared: yes please\n"),
             StartsWith("sluice.yaml:3: upstream.shared: expected true or false"));
  CHECK_THAT(error_of("upstream:\n  url: http://a/mcp\n  shared: true\n"),
             StartsWith("sluice.yaml:3: upstream.shared: only for an upstream.command"));
}

TEST_CASE("the listen section names the address, the tokens, the origins and the limits") {
  SECTION("all of it") {
    const auto config = load(
        "listen:\n  address: 127.0.0.1:8765\n  path: /governed\n"
        "  tokens: [{ principal: sre-agent, sha256: \"" + std::string(64, 'A') + "\" }]\n"
        "  allowed_origins: [\"https://console.example:*\"]\n"
        "  limits: { max_sessions: 7, session_idle: 2m, max_body_bytes: 1024, max_header_bytes: 2048,\n"
        "            header_timeout: 3s, body_timeout: 4s, max_connections: 50 }\n");
    CHECK(config.listen.address == "127.0.0.1:8765");
    CHECK(config.listen.path == "/governed");
    REQUIRE(config.listen.tokens.size() == 1);
    CHECK(config.listen.tokens[0].principal == "sre-agent");
    CHECK(config.listen.tokens[0].sha256 == std::string(64, 'a'));
    REQUIRE(config.listen.allowed_origins.size() == 1);
    CHECK(config.listen.allowed_origins[0].matches("https://console.example:443"));
    CHECK(config.listen.max_sessions == 7);
    CHECK(config.listen.session_idle == std::chrono::minutes(2));
    CHECK(config.listen.max_body_bytes == 1024);
    CHECK(config.listen.max_header_bytes == 2048);
    CHECK(config.listen.header_timeout == std::chrono::seconds(3));
    CHECK(config.listen.body_timeout == std::chrono::seconds(4));
    CHECK(config.listen.max_connections == 50);
    const auto again = load_config_text(to_yaml(config), "normalized").listen;
    CHECK(again.header_timeout == std::chrono::seconds(3));
    CHECK(again.max_connections == 50);
    CHECK(load_config_text(to_yaml(config), "normalized").listen.tokens[0].sha256 == std::string(64, 'a'));
  }
  SECTION("by default no address (stdio) and only loopback origins") {
    const auto config = load("");
    CHECK(config.listen.address.empty());
    CHECK(config.listen.path == "/mcp");
    CHECK(config.listen.allowed_origins.size() == 3);
  }
  SECTION("a token written in the clear is refused") {
    CHECK_THAT(error_of("listen:\n  tokens: [{ principal: a, sha256: hunter2 }]\n"),
               StartsWith("sluice.yaml:2: listen.tokens[0].sha256: expected the 64 hex digits"));
  }
  SECTION("TLS needs a certificate and a key that can be read") {
    const ScratchFile cert("sluice-config-loader-test-cert.pem");
    const ScratchFile key("sluice-config-loader-test-key.pem");
    const auto config = load("listen:\n  address: 127.0.0.1:8443\n  tls: { cert: " + cert.path() + ", key: " + key.path() + " }\n");
    CHECK(config.listen.tls_certificate == cert.path());
    CHECK(config.listen.tls_key == key.path());
    const auto again = load_config_text(to_yaml(config), "normalized");
    CHECK(again.listen.tls_certificate == cert.path());
    CHECK(again.listen.tls_key == key.path());
    CHECK(load("listen:\n  address: 127.0.0.1:8765\n").listen.tls_certificate.empty());
    CHECK_THAT(error_of("listen:\n  tls: { cert: " + cert.path() + " }\n"),
               StartsWith("sluice.yaml:2: listen.tls: needs both cert and key; key is missing"));
    CHECK_THAT(error_of("listen:\n  tls:\n    cert: " + cert.path() + "\n    key: gone.pem\n"),
               StartsWith("sluice.yaml:4: listen.tls.key: cannot read \"gone.pem\""));
    CHECK_THAT(error_of("listen:\n  tls: { cert: a, key: b, ca: c }\n"),
               StartsWith("sluice.yaml:2: listen.tls.ca: unknown key"));
  }
}

TEST_CASE("the audit section names the log, its durability and what to redact") {
  SECTION("all of it") {
    const auto config =
        load("audit:\n  path: /var/lib/sluice/audit.db\n  sync: full\n  redact: [token, /data]\n");
    CHECK(config.audit.path == "/var/lib/sluice/audit.db");
    CHECK(config.audit.full_sync);
    CHECK(config.audit.redact == std::vector<std::string>{"token", "/data"});
  }
  SECTION("left out: no log, normal sync, nothing extra redacted") {
    const auto config = load("");
    CHECK(config.audit.path.empty());
    CHECK_FALSE(config.audit.full_sync);
    CHECK(config.audit.redact.empty());
  }
  SECTION("sync outside its set") {
    CHECK_THAT(error_of("audit:\n  path: a.db\n  sync: always\n"),
               StartsWith("sluice.yaml:3: audit.sync: expected one of normal, full, got \"always\""));
  }
  SECTION("signed checkpoints: the key, with defaults for the rest") {
    const auto config = load("audit:\n  path: /var/lib/a.db\n  checkpoint_key: /etc/sluice/signing.pem\n");
    CHECK(config.audit.checkpoints.key == "/etc/sluice/signing.pem");
    CHECK(config.audit.checkpoints.name == "sluice.local/audit");
    CHECK(config.audit.checkpoints.every_rows == 1000);
    CHECK(config.audit.checkpoints.interval == std::chrono::seconds(60));
    CHECK(config.audit.checkpoints.file == "/var/lib/a.db.checkpoint");
  }
  SECTION("signed checkpoints: every key given") {
    const auto config = load(
        "audit:\n  path: a.db\n  checkpoint_key: k.pem\n  checkpoint_name: example.com/log\n"
        "  checkpoint_every: 10\n  checkpoint_interval: 5m\n  checkpoint_file: /mnt/other/a.checkpoint\n");
    CHECK(config.audit.checkpoints.name == "example.com/log");
    CHECK(config.audit.checkpoints.every_rows == 10);
    CHECK(config.audit.checkpoints.interval == std::chrono::minutes(5));
    CHECK(config.audit.checkpoints.file == "/mnt/other/a.checkpoint");
  }
  SECTION("a checkpoint key without a log") {
    CHECK_THAT(error_of("audit:\n  checkpoint_key: k.pem\n"),
               StartsWith("sluice.yaml:2: audit.checkpoint_key: needs audit.path"));
  }
  SECTION("an unknown key") {
    CHECK_THAT(error_of("audit:\n  paths: a.db\n"),
               StartsWith("sluice.yaml:2: audit.paths: unknown key; expected one of path, sync, redact"));
  }
}

TEST_CASE("a value of the wrong shape is refused with what was expected") {
  SECTION("a list where a mapping belongs") {
    CHECK_THAT(error_of("policy: [mode, enforce]\n"),
               StartsWith("sluice.yaml:1: policy: expected a mapping with keys mode, default"));
  }
  SECTION("a scalar where a mapping belongs") {
    CHECK_THAT(error_of("upstream:\n  name: kube\ndry_run: dryRun\n"),
               StartsWith("sluice.yaml:3: dry_run: expected a mapping with keys argument"));
  }
  SECTION("a mapping where a string belongs") {
    CHECK_THAT(error_of("upstream:\n  name: { first: kube }\n"),
               StartsWith("sluice.yaml:2: upstream.name: expected a string"));
  }
  SECTION("a mapping inside a list of strings") {
    CHECK_THAT(error_of("upstream:\n  command: [sluice-kube, { a: b }]\n"),
               StartsWith("sluice.yaml:2: upstream.command[1]: expected a string"));
  }
  SECTION("an empty command") {
    CHECK_THAT(error_of("upstream:\n  command: []\n"),
               StartsWith("sluice.yaml:2: upstream.command: expected a command and its arguments"));
  }
  SECTION("rules that are not a list") {
    CHECK_THAT(error_of("policy:\n  rules: { name: a }\n"),
               StartsWith("sluice.yaml:2: policy.rules: expected a list of rules"));
  }
  SECTION("tools that are not a mapping") {
    CHECK_THAT(
        error_of("policy:\n  tools: [pods_list]\n"),
        StartsWith(
            "sluice.yaml:2: policy.tools: expected a mapping of tool names to read, mutate or destructive"));
  }
  SECTION("args that are not a mapping") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: [namespace] } }\n"),
               StartsWith("sluice.yaml:3: policy.rules[0].match.args: expected a mapping of argument names"));
  }
  SECTION("a condition with two kinds") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: { ns: { glob: a, "
                        "equals: b } } } }\n"),
               StartsWith("sluice.yaml:3: policy.rules[0].match.args.ns: expected exactly one of equals, "
                          "glob, regex, in, exists"));
  }
  SECTION("exists that is not a boolean") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: { ns: { exists: "
                        "\"yes\" } } } }\n"),
               StartsWith("sluice.yaml:3: policy.rules[0].match.args.ns.exists: expected true or false"));
  }
  SECTION("in that is not a list") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: { ns: { in: a } } } }\n"),
        StartsWith("sluice.yaml:3: policy.rules[0].match.args.ns.in: expected a list of values"));
  }
}

TEST_CASE("a value outside its fixed set is refused, listing the set and quoting the value") {
  SECTION("a rule's action") {
    CHECK(error_of("policy:\n  rules:\n    - name: a\n      match: {}\n      action: approve\n") ==
          "sluice.yaml:5: policy.rules[0].action: expected one of allow, deny, dry_run, require_approval, "
          "got \"approve\"");
  }
  SECTION("the default action") {
    CHECK_THAT(error_of("policy:\n  default: block\n"),
               StartsWith("sluice.yaml:2: policy.default: expected one of allow, deny, dry_run, "
                          "require_approval, got \"block\""));
  }
  SECTION("the mode") {
    CHECK_THAT(
        error_of("policy:\n  mode: audit\n"),
        StartsWith("sluice.yaml:2: policy.mode: expected one of enforce, dry_run, monitor, got \"audit\""));
  }
  SECTION("the annotations setting") {
    CHECK_THAT(
        error_of("policy:\n  annotations: trusted\n"),
        StartsWith(
            "sluice.yaml:2: policy.annotations: expected one of trust, pinned, ignore, got \"trusted\""));
  }
  SECTION("a class in a rule, alone or in a list") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { class: write } }\n"),
        StartsWith("sluice.yaml:3: policy.rules[0].match.class: expected one of read, mutate, destructive, "
                   "changed, got \"write\""));
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - name: a\n      action: deny\n      match:\n        class:\n"
                 "          - read\n          - write\n"),
        StartsWith(
            "sluice.yaml:8: policy.rules[0].match.class[1]: expected one of read, mutate, destructive, "
            "changed, got \"write\""));
  }
  SECTION("a class in policy.tools") {
    CHECK_THAT(error_of("policy:\n  tools:\n    pods_list: safe\n"),
               StartsWith("sluice.yaml:3: policy.tools.pods_list: expected one of read, mutate, destructive, "
                          "got \"safe\""));
  }
  SECTION("the class changed, which only pinning may assign") {
    CHECK_THAT(error_of("policy:\n  tools:\n    pods_list: read\n    pods_exec: changed\n"),
               StartsWith("sluice.yaml:4: policy.tools.pods_exec: expected one of read, mutate, destructive, "
                          "got \"changed\""));
  }
}

TEST_CASE("a rule needs a match and an action") {
  SECTION("no match") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, action: deny }\n    - { action: allow }\n"),
               StartsWith("sluice.yaml:3: policy.rules[0]: a rule needs `match`"));
  }
  SECTION("no action") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, match: {}, action: deny }\n    - name: b\n      "
                        "match: {}\n"),
               StartsWith("sluice.yaml:4: policy.rules[1]: a rule needs `action`: one of allow, deny, "
                          "dry_run, require_approval"));
  }
}

TEST_CASE("two rules cannot have the same name") {
  const auto message = error_of(
      "policy:\n  rules:\n    - { name: a, match: {}, action: deny }\n    - { name: b, match: {}, action: "
      "deny }\n"
      "    - { name: a, match: {}, action: allow }\n");
  CHECK(message == "sluice.yaml:5: policy.rules[2].name: the name \"a\" is already used by policy.rules[0]");
}

TEST_CASE("only a require_approval rule takes approval settings") {
  const auto action = GENERATE(as<std::string>{}, "allow", "deny", "dry_run");
  CHECK_THAT(
      error_of("policy:\n  rules:\n    - name: a\n      match: {}\n      action: " + action +
               "\n      approval: { timeout: 5m }\n"),
      StartsWith(
          "sluice.yaml:6: policy.rules[0].approval: only a rule whose action is require_approval takes "
          "`approval`"));
}

TEST_CASE("how a held call meets its client: auto by default, and who may approve at the client") {
  SECTION("the defaults") {
    const auto config = load("");
    CHECK(config.approval.hold == HoldMode::automatic);
    CHECK_FALSE(config.approval.client_may_approve);
    CHECK(config.approval.state_key.empty());
  }
  SECTION("each hold mode by name") {
    CHECK(load("approval:\n  hold: auto\n").approval.hold == HoldMode::automatic);
    CHECK(load("approval:\n  hold: wait\n").approval.hold == HoldMode::wait);
    CHECK(load("approval:\n  hold: defer\n").approval.hold == HoldMode::defer);
  }
  SECTION("client_may_approve is a boolean") {
    CHECK(load("approval:\n  client_may_approve: true\n").approval.client_may_approve);
    CHECK_THAT(error_of("approval:\n  client_may_approve: yes please\n"),
               StartsWith("sluice.yaml:2: approval.client_may_approve: expected true or false"));
  }
  SECTION("the state key lives beside the audit log unless named") {
    CHECK(load("audit:\n  path: /var/lib/sluice/audit.db\n").approval.state_key ==
          "/var/lib/sluice/audit.db.approval-key");
    CHECK(load("audit:\n  path: a.db\napproval:\n  state_key: /etc/sluice/key\n").approval.state_key ==
          "/etc/sluice/key");
  }
  SECTION("what is printed loads back the same") {
    const auto config = load("audit:\n  path: a.db\napproval:\n  hold: auto\n  client_may_approve: true\n");
    const auto again = load_config_text(to_yaml(config), "normalized");
    CHECK(again.approval.hold == HoldMode::automatic);
    CHECK(again.approval.client_may_approve);
    CHECK(again.approval.state_key == "a.db.approval-key");
  }
}

TEST_CASE("approval settings are checked") {
  const auto rule = [](const std::string& approval) {
    return "policy:\n  rules:\n    - name: a\n      match: {}\n      action: require_approval\n      "
           "approval: " +
           approval + "\n";
  };
  SECTION("a timeout that is not a duration") {
    for (const auto* bad : {"15", "15 minutes", "-5m", "1.5h", "0s", "500ms", "169h"}) {
      CAPTURE(bad);
      CHECK_THAT(
          error_of(rule(std::string("{ timeout: \"") + bad + "\" }")),
          StartsWith(
              "sluice.yaml:6: policy.rules[0].approval.timeout: expected a duration of at least 1s, such "
              "as 30s, 15m or 2h, got \"" +
              std::string(bad) + "\""));
    }
  }
  SECTION("a timeout that is") {
    CHECK(load(rule("{ timeout: 90s }")).policy.rules[0].approval->timeout == std::chrono::seconds(90));
    CHECK(load(rule("{ timeout: 168h }")).policy.rules[0].approval->timeout == std::chrono::hours(168));
  }
  SECTION("a quorum that is not a whole number of at least 1") {
    for (const auto* bad : {"0", "-1", "two", "1.5", "2x", "99999999999"}) {
      CAPTURE(bad);
      CHECK_THAT(error_of(rule(std::string("{ quorum: \"") + bad + "\" }")),
                 StartsWith("sluice.yaml:6: policy.rules[0].approval.quorum: expected a whole number of at "
                            "least 1, got \"" +
                            std::string(bad) + "\""));
    }
  }
  SECTION("approval settings left out") {
    const auto config = load(rule("{}"));
    REQUIRE(config.policy.rules[0].approval.has_value());
    CHECK_FALSE(config.policy.rules[0].approval->timeout.has_value());
    CHECK(config.policy.rules[0].approval->approvers.empty());
    CHECK(config.policy.rules[0].approval->quorum == 1);
  }
}

TEST_CASE("a regular expression that does not compile is refused at load") {
  CHECK_THAT(
      error_of("policy:\n  rules:\n    - name: a\n      action: deny\n      match:\n        args:\n"
               "          name: { regex: \"prod-[\" }\n"),
      StartsWith("sluice.yaml:7: policy.rules[0].match.args.name.regex: not a valid regular expression: "));
}

TEST_CASE("an argument path must be a name or a well-formed JSON pointer") {
  SECTION("a malformed pointer in a rule") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - name: a\n      action: deny\n      match:\n        args:\n"
                 "          /a~2: x\n"),
        StartsWith("sluice.yaml:7: policy.rules[0].match.args: expected an argument name or a JSON pointer: "
                   "\"/a~2\" is not a JSON pointer: '~' must be followed by 0 or 1"));
  }
  SECTION("a pointer ending in a lone tilde") {
    CHECK_THAT(error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: { /a~: x } } }\n"),
               Contains("\"/a~\" is not a JSON pointer"));
  }
  SECTION("an empty path in a rule") {
    CHECK_THAT(
        error_of("policy:\n  rules:\n    - { name: a, action: deny, match: { args: { \"\": x } } }\n"),
        StartsWith(
            "sluice.yaml:3: policy.rules[0].match.args: expected an argument name or a JSON pointer: an "
            "argument path cannot be empty"));
  }
  SECTION("a malformed pointer among the namespace arguments, on the line of the bad entry") {
    CHECK_THAT(
        error_of("policy:\n  namespaces:\n    arguments:\n      - namespace\n      - /metadata/~namespace\n"),
        StartsWith(
            "sluice.yaml:5: policy.namespaces.arguments[1]: expected an argument name or a JSON pointer"));
  }
  SECTION("an empty namespace argument") {
    CHECK_THAT(
        error_of("policy:\n  namespaces:\n    arguments: [\"\"]\n"),
        StartsWith(
            "sluice.yaml:3: policy.namespaces.arguments[0]: expected an argument name or a JSON pointer: an "
            "argument path cannot be empty"));
  }
}

TEST_CASE("${VAR} in a value is replaced by the environment variable VAR") {
  REQUIRE(::setenv("SLUICE_TEST_UPSTREAM", "kube-prod", 1) == 0);
  REQUIRE(::setenv("SLUICE_TEST_NS", "prod-*", 1) == 0);
  REQUIRE(::unsetenv("SLUICE_TEST_UNSET") == 0);

  SECTION("in a string, alone or with other text") {
    const auto config = load(
        "upstream:\n  name: ${SLUICE_TEST_UPSTREAM}\n  command: [run, "
        "\"--for=${SLUICE_TEST_UPSTREAM}/x\"]\n");
    CHECK(config.upstream.name == "kube-prod");
    CHECK(config.upstream.command == std::vector<std::string>{"run", "--for=kube-prod/x"});
  }
  SECTION("in an argument condition") {
    const auto config = load(
        "policy:\n  rules:\n    - { name: a, action: deny, match: { args: { namespace: \"${SLUICE_TEST_NS}\" "
        "} } }\n");
    CHECK(config.policy.rules[0].match.arguments[0].matcher.glob->pattern() == "prod-*");
  }
  SECTION("an unset variable is an error that names it") {
    CHECK(error_of("upstream:\n  name: kube\n  command: [x, \"${SLUICE_TEST_UNSET}\"]\n") ==
          "sluice.yaml:3: upstream.command[1]: environment variable SLUICE_TEST_UNSET is not set");
  }
  SECTION("an unterminated reference is an error") {
    CHECK_THAT(error_of("upstream:\n  name: \"${SLUICE_TEST_UPSTREAM\"\n"),
               StartsWith("sluice.yaml:2: upstream.name: unterminated ${ in \"${SLUICE_TEST_UPSTREAM\""));
  }
  SECTION("$$ is a literal dollar and is not expanded further") {
    CHECK(load("upstream:\n  name: \"cost $$5\"\n").upstream.name == "cost $5");
    CHECK(load("upstream:\n  name: \"$${SLUICE_TEST_UPSTREAM}\"\n").upstream.name ==
          "${SLUICE_TEST_UPSTREAM}");
  }
  SECTION("a dollar not followed by { or $ is kept") {
    CHECK(load("upstream:\n  name: a$b$\n").upstream.name == "a$b$");
  }
  SECTION("keys are not expanded") {
    const auto config = load("policy:\n  tools:\n    ${SLUICE_TEST_UPSTREAM}: read\n");
    CHECK(config.policy.tools.count("${SLUICE_TEST_UPSTREAM}") == 1);
  }
}

TEST_CASE("a configuration file that cannot be read is an error naming the file") {
  const std::string path = "/nonexistent-sluice-test-dir/sluice.yaml";
  try {
    (void)load_config_file(path);
    FAIL("loading a missing file did not throw");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), StartsWith(path + ": cannot read the file: "));
    CHECK_THAT(std::string(e.what()), Contains("No such file or directory"));
  }
}

TEST_CASE("a configuration file is named in its errors") {
  const std::string path = "sluice-config-loader-test.yaml";
  {
    std::ofstream file(path);
    file << "policy:\n  mode: loud\n";
  }
  std::string message;
  try {
    (void)load_config_file(path);
  } catch (const ConfigError& e) {
    message = e.what();
  }
  std::remove(path.c_str());
  CHECK_THAT(message, StartsWith(path + ":2: policy.mode: "));
}

// Values that are hard to write back: quoting, numbers that are strings, dollars.
constexpr std::string_view awkward = R"(upstream:
  name: "kube: prod"
  command: ["sluice-kube", "--label", "a b", "#1", "--home=$${HOME}"]
policy:
  mode: monitor
  default: deny
  namespaces:
    allow: ["*-dev", "?"]
    arguments: [ns, "/spec/template/metadata/namespace", "/a~1b"]
  annotations: ignore
  tools: { "a tool": destructive, "007": read }
  rules:
    - name: "*weird: name*"
      match:
        tool: ["*", "&anchor", "!tag"]
        class: [read, changed]
        method: tools/*
        upstream: kube*
        principal: "@alice"
        args:
          text: "*secret*"
          count: 3
          ratio: 0.5
          flag: true
          quoted: "3"
          choice: [1, "two", false]
          pattern: { regex: "^prod-\\d+$" }
          exact: { equals: "true" }
          globbed: { glob: "[x]*" }
          within: { in: ["a", 2] }
          present: { exists: true }
          absent: { exists: false }
          /items/0/name: "n*"
      action: require_approval
      reason: "because: #reasons, and 'quotes' \"too\""
      approval: { timeout: 1h, approvers: [a, "b c"], quorum: 2 }
    - { name: price, match: { args: { price: "$$5" } }, action: allow, reason: "costs $$5, not $${HOME}" }
audit:
  path: "/tmp/$${USER}/audit.db"
  sync: full
  redact: [token, "/data/$$secret"]
dry_run:
  argument: "dry run"
)";

TEST_CASE("the configuration written back as YAML loads into the same configuration") {
  const auto source = GENERATE(as<std::string>{}, design_example, awkward, "");
  CAPTURE(source);
  const auto first = to_yaml(load(source));
  CAPTURE(first);
  Config reloaded;
  REQUIRE_NOTHROW(reloaded = load(first));
  CHECK(to_yaml(reloaded) == first);
}

TEST_CASE("the configuration written back keeps awkward values exactly") {
  const auto config = load(awkward);
  const auto reloaded = load(to_yaml(config));

  CHECK(reloaded.upstream.name == "kube: prod");
  CHECK(reloaded.upstream.command ==
        std::vector<std::string>{"sluice-kube", "--label", "a b", "#1", "--home=${HOME}"});
  CHECK(reloaded.dry_run.argument == "dry run");
  CHECK(reloaded.audit.path == "/tmp/${USER}/audit.db");
  CHECK(reloaded.audit.full_sync);
  CHECK(reloaded.audit.redact == std::vector<std::string>{"token", "/data/$secret"});
  CHECK(reloaded.policy.mode == Mode::monitor);
  CHECK(reloaded.policy.annotations == AnnotationTrust::ignore);
  CHECK(reloaded.policy.tools == config.policy.tools);
  REQUIRE(reloaded.policy.rules.size() == 2);
  const auto& rule = reloaded.policy.rules[0];
  CHECK(rule.name == "*weird: name*");
  CHECK(patterns_of(rule.match.tools) == std::vector<std::string>{"*", "&anchor", "!tag"});
  CHECK(patterns_of(rule.match.principals) == std::vector<std::string>{"@alice"});
  CHECK(rule.reason == "because: #reasons, and 'quotes' \"too\"");
  REQUIRE(rule.match.arguments.size() == config.policy.rules[0].match.arguments.size());
  for (std::size_t i = 0; i < rule.match.arguments.size(); ++i) {
    const auto& was = config.policy.rules[0].match.arguments[i];
    const auto& is = rule.match.arguments[i];
    CAPTURE(was.path.text());
    CHECK(is.path.text() == was.path.text());
    CHECK(is.matcher.kind == was.matcher.kind);
    CHECK(is.matcher.describe() == was.matcher.describe());
  }
  const auto& price = reloaded.policy.rules[1];
  CHECK(price.reason == "costs $5, not ${HOME}");
  CHECK(price.match.arguments[0].matcher.glob->pattern() == "$5");
}

}  // namespace
}  // namespace sluice::policy
