#include "proxy/run_command.h"

#include <pwd.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "audit/redactor.h"
#include "audit/sqlite_store.h"
#include "audit/writer.h"
#include "mcp/child_process.h"
#include "mcp/stream_transport.h"
#include "policy/engine.h"
#include "policy/pin_store.h"
#include "policy/tool_catalog.h"
#include "proxy/approval_queue.h"
#include "proxy/arguments.h"
#include "proxy/durable_pin_store.h"
#include "proxy/filters/audit_filter.h"
#include "proxy/filters/policy_filter.h"
#include "proxy/pipeline.h"
#include "proxy/session.h"

namespace sluice::proxy {
namespace {

// Reads the signing key at startup, so that a missing or wrong key stops Sluice
// with a message naming the file instead of failing at the first checkpoint.
audit::CheckpointOptions checkpoint_options(const policy::CheckpointConfig& config) {
  audit::CheckpointOptions options;
  if (config.key.empty()) return options;
  struct stat status {};
  if (::stat(config.key.c_str(), &status) == 0 && (status.st_mode & 077) != 0) {
    spdlog::warn("audit.checkpoint_key {} is readable by others (mode {:o}); chmod 600 it", config.key,
                 status.st_mode & 0777);
  }
  options.signer = audit::NoteSigner::from_pem_file(config.key, config.name);
  options.every_rows = config.every_rows;
  options.interval = config.interval;
  options.file = config.file;
  spdlog::info("audit checkpoints signed by {} every {} rows or {}s, copied to {}", options.signer->verifier_key(),
               config.every_rows, config.interval.count(), config.file);
  return options;
}

}  // namespace

int run_proxy(const RunOptions& options) {
  // A client that goes away must show up as a failed write, not kill Sluice
  // before it has stopped the upstream.
  ::signal(SIGPIPE, SIG_IGN);

  asio::io_context io;
  const auto executor = io.get_executor();
  const auto& config = options.config;
  const auto upstream_name = mcp::command_line(config.upstream.command);
  const policy::PolicyEngine engine(config.policy);

  std::unique_ptr<audit::AuditWriter> audit_log;
  std::unique_ptr<policy::PinStore> pins;
  const audit::Redactor redactor(config.audit.redact);
  if (!config.audit.path.empty()) {
    const auto durability = config.audit.full_sync ? audit::Durability::full : audit::Durability::normal;
    audit_log = std::make_unique<audit::AuditWriter>(
        executor, std::make_unique<audit::SqliteStore>(config.audit.path, durability),
        checkpoint_options(config.audit.checkpoints));
    pins = std::make_unique<DurablePinStore>(std::make_unique<audit::SqliteStore>(config.audit.path, durability),
                                             *audit_log);
    spdlog::info("audit log: {} (sync {})", config.audit.path, config.audit.full_sync ? "full" : "normal");
  } else {
    pins = std::make_unique<policy::MemoryPinStore>();
    spdlog::warn("no audit log configured (audit.path): decisions are logged here, not recorded; pins last "
                 "until Sluice exits");
  }
  policy::ToolCatalog catalog(config.policy, *pins, config.upstream.name);
  ApprovalQueue approvals(executor, audit_log.get(),
                          audit_log ? std::make_unique<audit::SqliteStore>(config.audit.path, audit::Durability::normal, true)
                                    : nullptr,
                          redactor, config.approval);
  approvals.cancel_orphans();

  mcp::ChildProcess upstream(executor, config.upstream.command, options.limits.max_message_bytes);
  mcp::StreamTransport client(executor, ::dup(STDIN_FILENO), ::dup(STDOUT_FILENO),
                              options.limits.max_message_bytes);
  Pipeline pipeline;
  pipeline.add(std::make_unique<PolicyFilter>(config, engine, catalog, approvals));
  if (audit_log) pipeline.add(std::make_unique<AuditFilter>(*audit_log, redactor, config.upstream.name));
  Session session(executor, client, upstream.transport(), pipeline,
                  SessionOptions{options.limits, options.principal.empty() ? current_user() : options.principal});

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("received {}; stopping", ::strsignal(signal_number));
    client.close_receive();
  });

  int exit_code = 0;
  auto relay = [&]() -> asio::awaitable<void> {
    spdlog::info("session {}: relaying stdio to upstream `{}` (pid {}); policy from {}, mode {}", session.id(),
                 upstream_name, upstream.pid(), config.source, policy::to_string(config.policy.mode));
    const auto session_event = [&](std::string detail) {
      if (!audit_log) return;
      audit::AuditEvent event;
      event.kind = "session";
      event.session = session.id();
      event.principal = session.principal();
      event.upstream = config.upstream.name;
      event.detail = std::move(detail);
      audit_log->record(std::move(event));
    };
    session_event("opened: stdio, upstream `" + upstream_name + "`");
    const auto end = co_await session.run();
    if (end == SessionEnd::client_closed) {
      spdlog::info("session {}: client closed its input; stopping the upstream", session.id());
      co_await upstream.stop(options.shutdown_grace);
    } else {
      co_await upstream.stop(options.shutdown_grace);
      spdlog::error("upstream `{}` {}; Sluice exits with it", upstream_name,
                    mcp::describe_wait_status(*upstream.exit_status()));
      exit_code = 1;
    }
    session_event(end == SessionEnd::client_closed ? "closed by the client"
                                                   : "closed: upstream " + mcp::describe_wait_status(*upstream.exit_status()));
    co_await client.drain(0);
    client.close_send();
  };
  asio::co_spawn(executor, relay(), [&](const std::exception_ptr& error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::critical("session {}: {}", session.id(), e.what());
      }
      exit_code = 1;
    }
    // Whatever is still pending (a descendant of the upstream holding its stderr
    // open, say) must not keep Sluice alive.
    io.stop();
  });
  io.run();
  return exit_code;
}

}  // namespace sluice::proxy
