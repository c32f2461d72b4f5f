#include "proxy/run_command.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "audit/redactor.h"
#include "audit/sqlite_store.h"
#include "audit/writer.h"
#include "mcp/child_process.h"
#include "mcp/http_client_transport.h"
#include "mcp/http_listener.h"
#include "mcp/stream_transport.h"
#include "policy/engine.h"
#include "policy/pin_store.h"
#include "policy/tool_catalog.h"
#include "proxy/approval_queue.h"
#include "proxy/arguments.h"
#include "proxy/durable_pin_store.h"
#include "proxy/event_loop.h"
#include "proxy/filters/audit_filter.h"
#include "proxy/filters/metrics_filter.h"
#include "proxy/filters/policy_filter.h"
#include "proxy/pipeline.h"
#include "proxy/session.h"
#include "proxy/shared_upstream.h"
#include "webui/ui_server.h"

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

void log_failure(std::string_view what, const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::critical("{}: {}", what, e.what());
  }
}

// The upstream of one session: a child process on stdio, or a remote Streamable
// HTTP server (upstream.url).
class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual mcp::Transport& transport() = 0;
  // "`npx server` (pid 42)", "http://host/mcp"
  [[nodiscard]] virtual std::string describe() const = 0;
  virtual asio::awaitable<void> stop(std::chrono::milliseconds grace) = 0;
  // How it ended, once transport() has ended: "exited with status 1".
  [[nodiscard]] virtual std::string how_it_ended() const = 0;
};

class ChildUpstream final : public Upstream {
 public:
  ChildUpstream(const asio::any_io_executor& executor, const RunOptions& options)
      : child_(executor, options.config.upstream.command, options.limits.max_message_bytes) {}
  mcp::Transport& transport() override { return child_.transport(); }
  [[nodiscard]] std::string describe() const override {
    return "`" + child_.name() + "` (pid " + std::to_string(child_.pid()) + ")";
  }
  asio::awaitable<void> stop(std::chrono::milliseconds grace) override { return child_.stop(grace); }
  [[nodiscard]] std::string how_it_ended() const override {
    return child_.exit_status() ? mcp::describe_wait_status(*child_.exit_status()) : "closed its output";
  }

 private:
  mcp::ChildProcess child_;
};

mcp::HttpUpstreamOptions upstream_options(const RunOptions& options) {
  mcp::HttpUpstreamOptions out;
  out.url = options.config.upstream.url;
  out.headers = options.config.upstream.headers;
  out.max_message_bytes = options.limits.max_message_bytes;
  out.ca_file = options.config.upstream.ca;
  return out;
}

class RemoteUpstream final : public Upstream {
 public:
  RemoteUpstream(const asio::any_io_executor& executor, const RunOptions& options)
      : url_(options.config.upstream.url),
        transport_(executor, upstream_options(options)) {}
  mcp::Transport& transport() override { return transport_; }
  [[nodiscard]] std::string describe() const override { return url_; }
  asio::awaitable<void> stop(std::chrono::milliseconds /*grace*/) override {
    transport_.close_send();
    co_return;
  }
  [[nodiscard]] std::string how_it_ended() const override { return "stopped answering or ended the session"; }

 private:
  std::string url_;
  mcp::HttpClientTransport transport_;
};

std::unique_ptr<Upstream> start_upstream(const asio::any_io_executor& executor, const RunOptions& options) {
  if (!options.config.upstream.url.empty()) return std::make_unique<RemoteUpstream>(executor, options);
  return std::make_unique<ChildUpstream>(executor, options);
}

// One upstream for many sessions: the child of every HTTP session with
// upstream.shared, and the upstream (child or remote server) of every 2026-07-28
// request. It lives while its router reads it, and while a session holds it.
class SharedHub {
 public:
  static std::shared_ptr<SharedHub> start(const asio::any_io_executor& executor, const RunOptions& options) {
    auto shared = std::make_shared<SharedHub>(executor, options);
    asio::co_spawn(executor, [shared]() -> asio::awaitable<void> { co_await shared->router_.run(); },
                   [shared](const std::exception_ptr& error) { log_failure("shared upstream", error); });
    return shared;
  }
  SharedHub(const asio::any_io_executor& executor, const RunOptions& options)
      : upstream_(start_upstream(executor, options)),
        router_(executor, upstream_->transport(), options.limits, SessionOptions{}.max_queued_bytes) {}

  [[nodiscard]] bool ended() const { return router_.ended(); }
  std::unique_ptr<mcp::Transport> attach() { return router_.attach(); }
  [[nodiscard]] std::string describe() const { return upstream_->describe() + ", shared"; }
  [[nodiscard]] std::string how_it_ended() const { return upstream_->how_it_ended(); }
  asio::awaitable<void> stop(std::chrono::milliseconds grace) { return upstream_->stop(grace); }

 private:
  std::unique_ptr<Upstream> upstream_;
  SharedUpstream router_;
};

// One session's side of a shared upstream: stopping it detaches the session only
// (the router cancels upstream what the session still waits for).
class HubSession final : public Upstream {
 public:
  explicit HubSession(std::shared_ptr<SharedHub> hub) : hub_(std::move(hub)), transport_(hub_->attach()) {}
  mcp::Transport& transport() override { return *transport_; }
  [[nodiscard]] std::string describe() const override { return hub_->describe(); }
  asio::awaitable<void> stop(std::chrono::milliseconds /*grace*/) override {
    transport_->close();
    co_return;
  }
  [[nodiscard]] std::string how_it_ended() const override { return hub_->how_it_ended(); }

 private:
  std::shared_ptr<SharedHub> hub_;
  std::unique_ptr<mcp::Transport> transport_;
};

// What every session shares: the policy, the tool catalog and pins, the audit log.
class Governance {
 public:
  Governance(const asio::any_io_executor& executor, const policy::Config& config)
      : config_(config), engine_(config.policy), redactor_(config.audit.redact) {
    if (!config.audit.path.empty()) {
      const auto durability = config.audit.full_sync ? audit::Durability::full : audit::Durability::normal;
      audit_log_ = std::make_unique<audit::AuditWriter>(
          executor, std::make_unique<audit::SqliteStore>(config.audit.path, durability),
          checkpoint_options(config.audit.checkpoints));
      pins_ = std::make_unique<DurablePinStore>(std::make_unique<audit::SqliteStore>(config.audit.path, durability),
                                                *audit_log_);
      spdlog::info("audit log: {} (sync {})", config.audit.path, config.audit.full_sync ? "full" : "normal");
    } else {
      pins_ = std::make_unique<policy::MemoryPinStore>();
      spdlog::warn("no audit log configured (audit.path): decisions are logged here, not recorded; pins last "
                   "until Sluice exits");
    }
    catalog_ = std::make_unique<policy::ToolCatalog>(config.policy, *pins_, config.upstream.name);
    approvals_ = std::make_unique<ApprovalQueue>(
        executor, audit_log_.get(),
        audit_log_ ? std::make_unique<audit::SqliteStore>(config.audit.path, audit::Durability::normal, true) : nullptr,
        redactor_, config.approval);
    approvals_->report_to(metrics_);
    approvals_->cancel_orphans();
  }

  [[nodiscard]] webui::Metrics& metrics_registry() { return registry_; }

  [[nodiscard]] ApprovalQueue& approvals() { return *approvals_; }

  // What /healthz reports.
  [[nodiscard]] webui::UiHealth health() const {
    webui::UiHealth health;
    health.audit_ok = !audit_log_ || audit_log_->healthy();
    if (audit_log_) health.audit_error = audit_log_->last_error();
    health.upstream_state = config_.upstream.shared ? "shared" : "per session";
    return health;
  }

  // Each session gets its own pipeline: filters keep per-session state (calls in flight).
  std::unique_ptr<Pipeline> pipeline() {
    auto pipeline = std::make_unique<Pipeline>();
    pipeline->add(std::make_unique<PolicyFilter>(config_, engine_, *catalog_, *approvals_));
    if (audit_log_) pipeline->add(std::make_unique<AuditFilter>(*audit_log_, redactor_, config_.upstream.name));
    pipeline->add(std::make_unique<MetricsFilter>(metrics_));
    return pipeline;
  }

  void session_event(const Session& session, std::string detail) {
    if (!audit_log_) return;
    audit::AuditEvent event;
    event.kind = "session";
    event.session = session.id();
    event.principal = session.principal();
    event.upstream = config_.upstream.name;
    event.detail = std::move(detail);
    audit_log_->record(std::move(event));
  }

 private:
  const policy::Config& config_;
  webui::Metrics registry_;
  webui::SluiceMetrics metrics_{registry_};
  const policy::PolicyEngine engine_;
  const audit::Redactor redactor_;
  std::unique_ptr<audit::AuditWriter> audit_log_;
  std::unique_ptr<policy::PinStore> pins_;
  std::unique_ptr<policy::ToolCatalog> catalog_;
  std::unique_ptr<ApprovalQueue> approvals_;
};

SessionOptions session_options(const RunOptions& options, std::string principal) {
  SessionOptions out;
  out.limits = options.limits;
  out.principal = std::move(principal);
  out.request_timeout = options.config.upstream.request_timeout;
  return out;
}

// What a call held at shutdown is cancelled for, in the store and in its client's answer.
constexpr auto shutting_down = "Sluice is shutting down";

// Counts a proxy session among those SIGTERM shuts down, while it runs.
class ServingSession {
 public:
  ServingSession(std::unordered_set<Session*>& serving, Session& session) : serving_(serving), session_(&session) {
    serving_.insert(session_);
  }
  ~ServingSession() { serving_.erase(session_); }
  ServingSession(const ServingSession&) = delete;
  ServingSession& operator=(const ServingSession&) = delete;

 private:
  std::unordered_set<Session*>& serving_;
  Session* session_;
};

// The approval web UI (ui: in the configuration, or --ui), on the same loop.
std::unique_ptr<webui::UiServer> start_ui(asio::io_context& io, const policy::Config& config, Governance& governance) {
  if (!config.ui) return nullptr;
  webui::UiServerOptions options;
  options.address = config.ui->address;
  for (const auto& user : config.ui->users) options.users.push_back({user.name, user.password, user.roles});
  options.local_approver = config.ui->local_approver;
  options.audit_path = config.audit.path;
  options.health = [&governance] { return governance.health(); };
  options.metrics = &governance.metrics_registry();
  auto server = std::make_unique<webui::UiServer>(io, std::move(options), governance.approvals());
  server->start();
  spdlog::info("approval web UI on {}{}", server->url(),
               config.ui->users.empty() ? " (no login: loopback only, you approve as " + server->local_approver() + ")"
                                        : "");
  return server;
}

int run_stdio(asio::io_context& io, const RunOptions& options, Governance& governance) {
  const auto executor = io.get_executor();
  const auto& config = options.config;
  const auto upstream = start_upstream(executor, options);
  mcp::StreamTransport client(executor, ::dup(STDIN_FILENO), ::dup(STDOUT_FILENO),
                              options.limits.max_message_bytes);
  const auto pipeline = governance.pipeline();
  Session session(executor, client, upstream->transport(), *pipeline, session_options(options, options.principal.empty() ? current_user() : options.principal));

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("received {}; stopping", ::strsignal(signal_number));
    governance.approvals().cancel_all(shutting_down);
    session.shut_down();
  });

  int exit_code = 0;
  auto relay = [&]() -> asio::awaitable<void> {
    spdlog::info("session {}: relaying stdio to upstream {}; policy from {}, mode {}", session.id(),
                 upstream->describe(), config.source, policy::to_string(config.policy.mode));
    governance.session_event(session, "opened: stdio, upstream " + upstream->describe());
    const auto end = co_await session.run();
    if (end == SessionEnd::client_closed) {
      spdlog::info("session {}: client closed its input; stopping the upstream", session.id());
      co_await upstream->stop(options.shutdown_grace);
    } else {
      co_await upstream->stop(options.shutdown_grace);
      spdlog::error("upstream {} {}; Sluice exits with it", upstream->describe(), upstream->how_it_ended());
      exit_code = 1;
    }
    governance.session_event(session, end == SessionEnd::client_closed ? "closed by the client"
                                                                       : "closed: upstream " + upstream->how_it_ended());
    co_await client.drain(0);
    client.close_send();
  };
  asio::co_spawn(executor, relay(), [&](const std::exception_ptr& error) {
    if (error) {
      log_failure("session " + session.id(), error);
      exit_code = 1;
    }
    // Whatever is still pending (a descendant of the upstream holding its stderr
    // open, say) must not keep Sluice alive.
    io.stop();
  });
  run_event_loop(io, options.busy_poll);
  return exit_code;
}

// "ab01..." -> the bytes it spells; the loader checked the form.
std::string digest_bytes(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

mcp::HttpListenerOptions listener_options(const RunOptions& options) {
  const auto& listen = options.config.listen;
  mcp::HttpListenerOptions out;
  out.address = listen.address;
  out.path = listen.path;
  for (const auto& token : listen.tokens) out.tokens.push_back({token.principal, digest_bytes(token.sha256)});
  out.origin_allowed = [origins = listen.allowed_origins](std::string_view origin) {
    return std::any_of(origins.begin(), origins.end(), [&](const policy::Glob& glob) { return glob.matches(origin); });
  };
  out.tls_certificate_file = listen.tls_certificate;
  out.tls_key_file = listen.tls_key;
  out.max_body_bytes = static_cast<std::size_t>(listen.max_body_bytes);
  out.max_header_bytes = static_cast<std::size_t>(listen.max_header_bytes);
  out.header_timeout = listen.header_timeout;
  out.body_timeout = listen.body_timeout;
  out.max_connections = static_cast<std::size_t>(listen.max_connections);
  out.max_sessions = static_cast<std::size_t>(listen.max_sessions);
  out.idle_timeout = listen.session_idle;
  out.parse_limits = options.limits;
  out.session_limits.max_message_bytes = options.limits.max_message_bytes;
  return out;
}

// Each HTTP connection holds a file descriptor, and the soft limit (often 1024) would
// stop accept() long before listen.limits.max_connections: it is raised to the hard one
// (for Sluice only: upstream children keep the one Sluice was given).
void make_room_for_connections(std::size_t max_connections) {
  const auto open_files = mcp::raise_open_file_limit();
  // Upstream pipes, the audit log and the web UI need descriptors too.
  constexpr rlim_t reserve = 256;
  if (open_files != RLIM_INFINITY && max_connections + reserve > open_files) {
    spdlog::warn("listen.limits.max_connections is {}, but the open-file limit is {}: accept() will fail first "
                 "(raise the hard limit, ulimit -Hn, or lower max_connections)",
                 max_connections, open_files);
  }
}

// Every HTTP session gets its own proxy session and its own upstream child, or a
// share of one child with upstream.shared; the listener stays up when one fails.
int run_http(asio::io_context& io, const RunOptions& options, Governance& governance, const webui::UiServer* ui) {
  const auto executor = io.get_executor();
  const auto& config = options.config;
  std::size_t live_sessions = 0;
  // The proxy sessions running, for SIGTERM to shut each down.
  std::unordered_set<Session*> serving;
  bool stopping = false;
  mcp::AsyncEvent sessions_changed(executor);
  std::unique_ptr<mcp::HttpListener> listener;
  std::shared_ptr<SharedHub> shared_child;
  std::shared_ptr<SharedHub> modern_upstream;
  make_room_for_connections(static_cast<std::size_t>(config.listen.max_connections));

  // A 2026-07-28 request (client->modern()) is governed by a proxy session of its own,
  // as a 2025 session is, over one upstream every modern request shares (its router
  // keeps their ids apart): stateless requests need no upstream of their own, and a
  // dual-era child opened by a modern request stays modern. Such a session is one
  // request long, so it writes no session rows to the audit log. The client hanging up
  // ends it: a held call is withdrawn, and the router cancels a forwarded one.
  auto serve = [&](std::shared_ptr<mcp::HttpServerSession> client,
                   std::shared_ptr<Upstream> upstream) -> asio::awaitable<void> {
    const auto pipeline = governance.pipeline();
    auto session_settings = session_options(options, client->principal());
    session_settings.one_request = client->modern();
    Session session(executor, *client, upstream->transport(), *pipeline, session_settings);
    const ServingSession registered(serving, session);
    if (stopping) session.shut_down();
    if (client->modern()) {
      spdlog::debug("session {}: a 2026-07-28 request from {} relayed to upstream {}", session.id(),
                    client->principal(), upstream->describe());
    } else {
      spdlog::info("session {}: HTTP session {} for {} relayed to upstream {}", session.id(), client->id(),
                   client->principal(), upstream->describe());
      governance.session_event(session, "opened: http, upstream " + upstream->describe());
    }
    const auto end = co_await session.run();
    // Stopping, the client stays connected until the upstream has answered or been
    // stopped, so that it gets the answers ("shutting down") to what it still waits for.
    if (!stopping) listener->end_session(client->id());
    co_await upstream->stop(options.shutdown_grace);
    co_await session.upstream_ended();
    co_await session.settled();
    if (client->modern()) co_return;
    if (end == SessionEnd::upstream_closed) {
      spdlog::warn("session {}: upstream {} {}; the HTTP session ended with it", session.id(), upstream->describe(),
                   upstream->how_it_ended());
    }
    governance.session_event(session, end == SessionEnd::client_closed ? "closed by the client"
                                                                       : "closed: upstream " + upstream->how_it_ended());
  };
  auto start = [&](const std::shared_ptr<mcp::HttpServerSession>& client, std::shared_ptr<Upstream> upstream) {
    ++live_sessions;
    asio::co_spawn(executor, serve(client, std::move(upstream)), [&, client](const std::exception_ptr& error) {
      log_failure(client->modern() ? "a 2026-07-28 request" : "http session " + client->id(), error);
      // Stopping, the listener ends the session once its answers are written.
      if (!stopping) listener->end_session(client->id());
      client->close();
      --live_sessions;
      sessions_changed.notify_all();
    });
  };

  auto listening = listener_options(options);
  // Once stopping, the listener itself refuses what would start here (503).
  listening.on_modern_request = [&](const std::shared_ptr<mcp::HttpServerSession>& client) {
    if (!modern_upstream || modern_upstream->ended()) modern_upstream = SharedHub::start(executor, options);
    start(client, std::make_shared<HubSession>(modern_upstream));
  };
  listener = std::make_unique<mcp::HttpListener>(
      executor, std::move(listening), [&](const std::shared_ptr<mcp::HttpServerSession>& client) {
        if (!config.upstream.shared) return start(client, start_upstream(executor, options));
        if (!shared_child || shared_child->ended()) shared_child = SharedHub::start(executor, options);
        start(client, std::make_shared<HubSession>(shared_child));
      });
  listener->start();
  // Tests and scripts bind port 0 and read the address from this line.
  spdlog::info("listening on {} (MCP Streamable HTTP); {} upstream {}; policy from {}, mode {}", listener->url(),
               config.upstream.shared ? "one shared" : "a new per session", config.upstream.url.empty() ? mcp::command_line(config.upstream.command) : config.upstream.url,
               config.source, policy::to_string(config.policy.mode));
  if (options.on_serving) options.on_serving(io, ServingAt{listener->url(), ui ? ui->url() : std::string()});

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("received {}; ending {} session(s)", ::strsignal(signal_number), live_sessions);
    // As on stdio: nothing new comes in, held calls are answered "cancelled", and
    // calls in flight are answered by the upstream, or "shutting down" once it is stopped.
    stopping = true;
    listener->stop_accepting();
    governance.approvals().cancel_all(shutting_down);
    for (auto* session : serving) session->shut_down();
    sessions_changed.notify_all();
  });
  auto wait_for_stop = [&]() -> asio::awaitable<void> {
    while (!stopping || live_sessions > 0) co_await sessions_changed.wait();
    co_await listener->stop_after_answers(options.shutdown_grace);
    if (shared_child) co_await shared_child->stop(options.shutdown_grace);
    if (modern_upstream) co_await modern_upstream->stop(options.shutdown_grace);
  };
  asio::co_spawn(executor, wait_for_stop(), [&](const std::exception_ptr& error) {
    log_failure("http listener", error);
    io.stop();
  });
  run_event_loop(io, options.busy_poll);
  return 0;
}

}  // namespace

int run_proxy(const RunOptions& options) {
  // A client that goes away must show up as a failed write, not kill Sluice
  // before it has stopped the upstream.
  ::signal(SIGPIPE, SIG_IGN);
  // A file size limit (RLIMIT_FSIZE) reached by the audit log must be a failed write,
  // which fails calls closed, not a signal that kills Sluice.
  ::signal(SIGXFSZ, SIG_IGN);
  asio::io_context io;
  if (options.busy_poll > std::chrono::microseconds::zero()) {
    // Said once at startup, to explain a core busier than the traffic would suggest.
    spdlog::info("busy polling for up to {}us after each event before sleeping", options.busy_poll.count());
  }
  Governance governance(io.get_executor(), options.config);
  const auto ui = start_ui(io, options.config, governance);
  if (options.config.listen.address.empty()) return run_stdio(io, options, governance);
  return run_http(io, options, governance, ui.get());
}

}  // namespace sluice::proxy
