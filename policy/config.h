// The typed form of sluice.yaml. Everything is parsed and checked once, at load time
// (policy/config_loader.h); the rest of Sluice never compares configuration strings.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/decision.h"
#include "policy/glob.h"

namespace sluice::policy {

using json = nlohmann::json;

// Where an argument lives: a top-level key ("namespace") or a JSON pointer
// ("/metadata/namespace").
class ArgumentPath {
 public:
  // Throws std::invalid_argument for an empty path or a malformed pointer.
  explicit ArgumentPath(std::string text);
  [[nodiscard]] bool is_pointer() const { return is_pointer_; }
  [[nodiscard]] const std::string& text() const { return text_; }
  // The value at this path in `arguments`, or nullptr.
  [[nodiscard]] const json* find(const json& arguments) const;

 private:
  std::string text_;
  bool is_pointer_ = false;
  std::vector<std::string> tokens_;  // the pointer's reference tokens, unescaped
};

// One condition on one argument's value.
struct ValueMatcher {
  enum class Kind { equals, glob, regex, one_of, exists };
  Kind kind = Kind::equals;
  json expected;                               // equals
  std::optional<Glob> glob;                    // glob
  std::shared_ptr<const std::regex> regex;     // regex (compiled once, at load)
  std::string regex_source;
  std::vector<json> one_of;                    // one_of
  bool should_exist = true;                    // exists

  // `value` is nullptr when the argument is absent.
  [[nodiscard]] bool matches(const json* value) const;
  [[nodiscard]] std::string describe() const;
};

struct ArgumentCondition {
  ArgumentPath path;
  ValueMatcher matcher;
};

// Every condition given must hold; a list means any of its entries.
struct Match {
  std::vector<Glob> tools;
  std::vector<ToolClass> classes;
  std::vector<Glob> methods;
  std::vector<Glob> upstreams;
  std::vector<Glob> principals;
  std::vector<ArgumentCondition> arguments;
};

struct ApprovalRequirement {
  std::optional<std::chrono::seconds> timeout;
  std::vector<std::string> approvers;
  int quorum = 1;
};

struct Rule {
  std::string name;
  Match match;
  Action action = Action::deny;
  std::string reason;
  std::optional<ApprovalRequirement> approval;
  int line = 0;  // where it is written, for explanations
};

enum class AnnotationTrust { trust, pinned, ignore };
std::string_view to_string(AnnotationTrust trust);

struct NamespacePolicy {
  std::vector<Glob> allow;  // empty: every namespace
  std::vector<ArgumentPath> arguments;
  // Arguments that, when true, make a call act on every namespace (kubectl's
  // --all-namespaces): such a call names every namespace, not the default one.
  std::vector<std::string> all_namespaces_flags = {"allNamespaces"};
};

struct PolicyConfig {
  Mode mode = Mode::enforce;
  // A call that no rule matches: fail closed.
  Action default_action = Action::require_approval;
  NamespacePolicy namespaces;
  AnnotationTrust annotations = AnnotationTrust::pinned;
  std::map<std::string, ToolClass, std::less<>> tools;
  std::vector<Rule> rules;
};

struct UpstreamConfig {
  std::string name = "upstream";
  std::vector<std::string> command;
  std::string url;  // a Streamable HTTP server instead of a command: http:// or https://
  std::string ca;   // https: CA certificates (PEM file) to verify it against; empty: the system's
  std::vector<std::pair<std::string, std::string>> headers;  // sent to the url, ${VAR} expanded
  // With a listener: one command for every HTTP session instead of one each (the
  // server must be safe to share between clients).
  bool shared = false;
  // How long Sluice waits for the upstream's answer to a request it forwarded before it
  // answers the client with an error and cancels the request upstream; zero: no limit.
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};
};

// Sluice as a Streamable HTTP endpoint (`listen:`, or `sluice run --listen`).
struct ListenToken {
  std::string principal;
  std::string sha256;  // lower-case hex SHA-256 of the bearer token
};

struct ListenConfig {
  std::string address;  // HOST:PORT; empty: MCP on Sluice's own stdin/stdout
  std::string path = "/mcp";
  std::vector<ListenToken> tokens;  // empty: no authentication, loopback addresses only
  std::string tls_certificate;      // listen.tls.cert: PEM chain; set with tls_key, HTTPS
  std::string tls_key;              // listen.tls.key: PEM private key
  // Origins a browser may call from; by default only loopback pages.
  std::vector<Glob> allowed_origins{Glob("http://localhost:*"), Glob("http://127.0.0.1:*"), Glob("http://[::1]:*")};
  int max_sessions = 100;
  std::chrono::seconds session_idle{std::chrono::minutes(30)};
  int max_body_bytes = 4 << 20;
  int max_header_bytes = 16 << 10;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{30};
  int max_connections = 16384;
};

// Signed checkpoints of the audit log (docs/audit-format.md).
struct CheckpointConfig {
  std::string key;                         // Ed25519 private key (PEM); empty: no checkpoints
  std::string name = "sluice.local/audit";  // the signing key's name in the signed note
  int every_rows = 1000;
  std::chrono::seconds interval{60};
  std::string file;                        // the copy outside the log; default: <audit.path>.checkpoint
};

struct AuditConfig {
  std::string path;                 // empty: no audit log
  bool full_sync = false;           // sync: full (fsync per group commit) or normal
  std::vector<std::string> redact;  // keys and JSON pointers, beyond the built-in ones
  CheckpointConfig checkpoints;
};

// How a call that needs approval is held (docs/approvals.md).
// How a held call meets its client. automatic: the best channel the client declared
// (a 2026-07-28 client with elicitation gets input_required), else wait.
enum class HoldMode { automatic, wait, defer };

struct ApprovalConfig {
  HoldMode hold = HoldMode::automatic;
  // A single-user desktop: the person at the client is the approver, and accepting
  // Sluice's form at the client approves the call. Off: only a recorded decision of an
  // allowed approver (UI, CLI) releases a call.
  bool client_may_approve = false;
  // The key that seals Sluice's requestState; empty: a key in memory (tickets do not
  // outlive the process). Defaults to beside the audit log.
  std::string state_key;
  std::chrono::seconds timeout{600};
  std::chrono::seconds progress_interval{10};
};

// The approval web UI (webui/ui_server.h, docs/web-ui.md).
struct UiUserConfig {
  std::string name;
  std::string password;  // scrypt$…, as `sluice passwd` prints it
  std::vector<std::string> roles;
};

struct UiConfig {
  std::string address = "127.0.0.1:8766";
  std::vector<UiUserConfig> users;  // empty: no login, loopback only
  std::string local_approver;       // without users: who votes; empty: the OS user
};

struct DryRunConfig {
  std::string argument = "dryRun";
};

struct Config {
  std::string source;  // the file it came from, or "built-in default"
  UpstreamConfig upstream;
  ListenConfig listen;
  PolicyConfig policy;
  AuditConfig audit;
  ApprovalConfig approval;
  std::optional<UiConfig> ui;  // absent: no web UI
  DryRunConfig dry_run;
};

// With no configuration: read-only. Reads are allowed, everything else requires
// approval, every namespace is allowed, annotations are pinned on first sight.
Config default_config();

}  // namespace sluice::policy
