#include "proxy/demo_agent.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "mcp/http_client_transport.h"
#include "mcp/message.h"

namespace sluice::proxy {
namespace {

using mcp::json;

constexpr const char* decision_meta_key = "dev.sluice/decision";
constexpr const char* protocol_version = "2025-11-25";

// One MCP session over Streamable HTTP, one request at a time: enough for a script.
class McpClient {
 public:
  using Progress = std::function<void(const std::string&)>;

  McpClient(const asio::any_io_executor& executor, const std::string& url, const std::string& token)
      : transport_(executor, options(url, token)) {}

  ~McpClient() { transport_.close(); }

  static mcp::HttpUpstreamOptions options(const std::string& url, const std::string& token) {
    mcp::HttpUpstreamOptions options;
    options.url = url;
    options.headers = {{"Authorization", "Bearer " + token}};
    return options;
  }

  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  asio::awaitable<void> initialize() {
    // Arguments are built before a co_await and names passed as pointers: g++ 12
    // fails on a temporary initialized from a string literal inside a co_await
    // expression ("array used as initializer").
    json params = {{"protocolVersion", protocol_version},
                   {"capabilities", json::object()},
                   {"clientInfo", {{"name", "sluice-demo-agent"}, {"version", "1"}}}};
    co_await request("initialize", std::move(params), {});
    transport_.send(mcp::Message::notification("notifications/initialized").wire());
  }

  // The result of tools/call; `progress` sees the text of each notifications/progress.
  asio::awaitable<json> call_tool(const char* name, json arguments, Progress progress = {}) {
    json params = {{"name", name}, {"arguments", std::move(arguments)}};
    if (progress) params["_meta"] = {{"progressToken", "demo-" + std::to_string(next_id_)}};
    co_return co_await request("tools/call", std::move(params), std::move(progress));
  }

 private:
  asio::awaitable<json> request(const char* method, json params, Progress progress) {
    const auto id = next_id_++;
    transport_.send(mcp::Message::request(id, method, std::move(params)).wire());
    for (;;) {
      auto frame = co_await transport_.receive();
      if (!frame) throw std::runtime_error("Sluice ended the MCP session");
      if (frame->kind != mcp::Frame::Kind::line) continue;
      auto parsed = mcp::parse_frame(std::move(frame->text), limits_);
      const auto* message = std::get_if<mcp::Message>(&parsed);
      if (message == nullptr) continue;
      if (message->is_request()) {  // ping, or anything else a server may ask: answer, decline
        transport_.send(
            message->method() == "ping"
                ? mcp::Message::result(message->id(), json::object()).wire()
                : mcp::Message::error(message->id(), -32601, "the demo agent offers nothing").wire());
      } else if (message->is_notification()) {
        if (message->method() == "notifications/progress" && progress) {
          progress(message->params().value("message", std::string("still waiting")));
        }
      } else if (message->id() == json(id)) {
        if (message->is_error_response()) {
          throw std::runtime_error(std::string(method) +
                                   " failed: " + message->body()["error"].value("message", std::string()));
        }
        co_return message->body()["result"];
      }
    }
  }

  mcp::HttpClientTransport transport_;
  mcp::ParseLimits limits_;
  int next_id_ = 1;
};

std::string text_of(const json& result) {
  std::string text;
  for (const auto& block : result.value("content", json::array())) {
    if (block.value("type", "") != "text") continue;
    if (!text.empty()) text += '\n';
    text += block.value("text", "");
  }
  return text;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string last_line(const std::string& text) {
  const auto end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return {};
  const auto newline = text.rfind('\n', end);
  const auto start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

// What Sluice did with the call, as the client can tell: Sluice's own answers carry
// its decision in _meta; a forwarded call carries the server's result.
std::string outcome(const json& result) {
  const auto text = text_of(result);
  const auto meta = result.value("_meta", json::object());
  if (meta.contains(decision_meta_key)) {
    const auto& decision = meta[decision_meta_key];
    return decision.value("action", std::string("?")) + " by rule " +
           decision.value("rule", std::string("?")) + ": " + first_line(text);
  }
  if (result.value("isError", false)) return "ran, failed: " + first_line(text);
  if (text.starts_with("DRY RUN")) return "dry_run (forwarded with dryRun: true): " + first_line(text);
  return "allowed, ran";
}

// checkout-7d4b9c-x2k4p -> checkout: a ReplicaSet's pod, named after its deployment.
std::string deployment_of(const std::string& pod) {
  auto name = pod;
  for (int i = 0; i < 2; ++i) {
    const auto dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0) return pod;
    name.resize(dash);
  }
  return name;
}

class Script {
 public:
  Script(DemoAgentOptions options, std::ostream& out) : options_(std::move(options)), out_(out) {}

  asio::awaitable<void> run(McpClient& client) {
    say("on call: checkout in production is paging. Working through Sluice at " + options_.mcp_url);
    co_await client.initialize();

    step("pods_list", "every namespace, looking for pods that are not running");
    json everywhere = {{"allNamespaces", true}};
    const auto pods = co_await client.call_tool("pods_list", std::move(everywhere));
    report(pods);
    std::vector<json> failing;
    for (const auto& pod : pods.value("structuredContent", json::object()).value("pods", json::array())) {
      if (pod.value("status", "") != "Running") failing.push_back(pod);
    }
    for (const auto& pod : failing) {
      detail(pod.value("namespace", "") + "/" + pod.value("name", "") + " " + pod.value("status", "") + ", " +
             std::to_string(pod.value("restarts", 0)) + " restarts");
    }
    const auto crashing = std::find_if(failing.begin(), failing.end(), [](const json& pod) {
      return pod.value("status", "") == "CrashLoopBackOff";
    });
    if (crashing == failing.end()) {
      say("nothing is crash-looping; the incident is over. Done.");
      co_return;
    }
    const auto ns = crashing->value("namespace", "");
    const auto pod = crashing->value("name", "");
    const auto deployment = deployment_of(pod);

    step("pods_log", ns + "/" + pod + ", the last lines");
    json tail = {{"namespace", ns}, {"name", pod}, {"tailLines", 20}};
    const auto log = co_await client.call_tool("pods_log", std::move(tail));
    report(log);
    detail("last line: " + last_line(text_of(log)));

    step("deployments_describe", ns + "/" + deployment);
    const json in_production = {{"namespace", ns}, {"name", deployment}};
    const auto described = co_await client.call_tool("deployments_describe", in_production);
    report(described);
    const auto image = line_with(text_of(described), "image ");
    if (!image.empty()) detail(image);

    step("deployments_rollout_restart", "staging/" + deployment + ", a rehearsal in staging first");
    json in_staging = {{"namespace", "staging"}, {"name", deployment}};
    report(co_await client.call_tool("deployments_rollout_restart", std::move(in_staging)));

    step("deployments_rollout_restart", ns + "/" + deployment + ", rolling it out again");
    detail("held for approval: approve it in the web UI at " + options_.ui_url + " (log in as " +
           options_.approver + "), or with: sluice approvals approve ID --db " + options_.audit_db);
    McpClient::Progress waiting = [this](const std::string& progress) { detail(progress); };
    const auto restarted =
        co_await client.call_tool("deployments_rollout_restart", in_production, std::move(waiting));
    report(restarted, "approved, ran");
    if (!restarted.value("isError", false)) detail(first_line(text_of(restarted)));

    step("pods_delete", ns + "/" + pod + ", in case the restart leaves it behind");
    json the_pod = {{"namespace", ns}, {"name", pod}};
    report(co_await client.call_tool("pods_delete", std::move(the_pod)));

    say("done. The log says why checkout crashes: a restart will not fix a missing setting; a human should "
        "set it "
        "(docs/kube-tools.md). Every step above is in the audit log.");
  }

  void fail(const std::string& why) { say("stopped: " + why); }

 private:
  // The first line of `text` that holds `needle`, without its indentation; empty when none does.
  static std::string line_with(const std::string& text, const std::string& needle) {
    const auto found = text.find(needle);
    if (found == std::string::npos) return {};
    const auto newline = text.rfind('\n', found);
    const auto start = text.find_first_not_of(' ', newline == std::string::npos ? 0 : newline + 1);
    return first_line(text.substr(start));
  }

  void say(const std::string& text) { out_ << "agent: " << text << std::endl; }
  void step(const std::string& tool, const std::string& what) {
    out_ << "agent: step " << ++steps_ << ": " << tool << " (" << what << ")" << std::endl;
  }
  void report(const json& result, const std::string& forwarded = "allowed, ran") {
    auto said = outcome(result);
    if (said == "allowed, ran") said = forwarded;
    out_ << "agent:   -> " << said << std::endl;
  }
  void detail(const std::string& text) { out_ << "agent:      " << text << std::endl; }

  DemoAgentOptions options_;
  std::ostream& out_;
  int steps_ = 0;
};

}  // namespace

asio::awaitable<void> run_demo_agent(DemoAgentOptions options, std::ostream& out) {
  Script script(options, out);
  try {
    McpClient client(co_await asio::this_coro::executor, options.mcp_url, options.token);
    co_await script.run(client);
  } catch (const std::exception& e) {
    script.fail(e.what());
  }
}

}  // namespace sluice::proxy
