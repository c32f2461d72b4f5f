// A stand-in for `sluice run --ui` in the browser tests until the proxy's approval queue
// serves the UI: UiServer with the in-memory desk of tests/support/memory_desk.h.
//
//   ui_fixture_server [--user NAME:HASH[:ROLE,ROLE]]...
// prints {"url": "http://127.0.0.1:PORT/"} once listening, then reads JSON lines on
// stdin: {"hold": {tool, principal, arguments, ...}} answers {"held": ID};
// {"decisions": true} answers {"decisions": N}. Every change of a request is printed as
// {"event": VIEW}. It exits when stdin closes.
#include <unistd.h>

#include <iostream>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "support/memory_desk.h"
#include "webui/ui_server.h"
#include "webui/view_json.h"

using namespace sluice;
using json = nlohmann::json;

namespace {

webui::UiUser parse_user(const std::string& text) {
  const auto first = text.find(':');
  const auto roles_at = text.find(':', text.find('$') == std::string::npos ? first + 1 : text.rfind('$'));
  webui::UiUser user;
  user.name = text.substr(0, first);
  user.password_hash = text.substr(first + 1, roles_at == std::string::npos ? std::string::npos : roles_at - first - 1);
  if (roles_at != std::string::npos) {
    std::string roles = text.substr(roles_at + 1);
    std::size_t start = 0;
    while (start <= roles.size()) {
      const auto comma = std::min(roles.find(',', start), roles.size());
      if (comma > start) user.roles.push_back(roles.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return user;
}

webui::ApprovalView view_from(const json& spec) {
  webui::ApprovalView view;
  view.session = spec.value("session", "session-1");
  view.principal = spec.value("principal", "agent");
  view.upstream = spec.value("upstream", "kube");
  view.tool = spec.value("tool", "deployments_scale");
  view.tool_class = spec.value("tool_class", "mutate");
  view.rule = spec.value("rule", "prod-changes");
  view.reason = spec.value("reason", "changes in production need a human");
  view.arguments = spec.value("arguments", json::object());
  view.arguments_hash = mcp::sha256_hex(mcp::canonical_json(view.arguments));
  view.quorum = spec.value("quorum", 1);
  view.created = audit::audit_time_now();
  const auto seconds = spec.value("expires_in", 600);
  const auto expires = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  const auto t = std::chrono::system_clock::to_time_t(expires);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S.000000Z", std::gmtime(&t));
  view.expires = buffer;
  return view;
}

void say(const json& line) { std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl; }

asio::awaitable<void> read_commands(test::MemoryDesk& desk, webui::UiServer& server) {
  asio::posix::stream_descriptor input(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    const auto size = co_await asio::async_read_until(input, asio::dynamic_buffer(buffer), '\n',
                                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const auto line = buffer.substr(0, size);
    buffer.erase(0, size);
    const auto command = json::parse(line, nullptr, false);
    if (command.contains("hold")) {
      say({{"held", desk.hold(view_from(command["hold"]))}});
    } else if (command.contains("decisions")) {
      say({{"decisions", desk.decisions.size()}});
    }
  }
  server.stop();
}

}  // namespace

int main(int argc, char** argv) {
  // stdout is the test's channel; the server's log goes where Sluice's goes.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("ui"));
  webui::UiServerOptions options;
  options.address = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--user") options.users.push_back(parse_user(argv[i + 1]));
  }
  options.local_approver = "operator";
  asio::io_context io;
  test::MemoryDesk desk;
  webui::UiServer server(io, options, desk);
  desk.subscribe([](const webui::ApprovalView& view) { say({{"event", webui::to_json(view)}}); });
  server.start();
  say({{"url", server.url()}});
  asio::co_spawn(io, read_commands(desk, server), asio::detached);
  io.run();
  return 0;
}
