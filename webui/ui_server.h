// The approval web UI: an HTTP/1.1 server on the proxy's io_context that serves the
// embedded pages, the JSON API under /api/, server-sent events of approval changes,
// /healthz and /metrics. It never decides anything itself: it shows the ApprovalDesk's
// views and passes each approver's vote to it. docs/web-ui.md describes the pages,
// the API and the security model.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mcp/asio.h"
#include "webui/approval_desk.h"
#include "webui/login_throttle.h"
#include "webui/metrics.h"
#include "webui/session_store.h"

namespace sluice::webui {

struct UiUser {
  std::string name;
  std::string password_hash;  // scrypt$…, see webui/password.h
  std::vector<std::string> roles;
};

// What /healthz reports; the proxy fills it in.
struct UiHealth {
  bool audit_ok = true;
  std::string audit_error;  // the last audit write error, empty when none
  std::string upstream_state;  // e.g. "connected", "starting", "gone"
};

struct UiLimits {
  std::size_t header_bytes = 16 * 1024;
  std::size_t body_bytes = 64 * 1024;
  std::size_t max_connections = 128;
  std::size_t max_event_streams = 32;
  std::size_t event_queue = 256;  // events waiting for a slow stream; past it the stream is closed
  std::chrono::seconds idle{60};  // a connection with no complete request for this long is closed
  std::chrono::seconds write{30};
  std::chrono::seconds keepalive{15};  // comment lines on an event stream, so dead peers are noticed
  std::size_t history = 200;
  std::size_t audit_rows = 1000;
};

struct UiServerOptions {
  // HOST:PORT; port 0 picks a free port (see UiServer::port()). Without users, only a
  // loopback HOST is accepted.
  std::string address = "127.0.0.1:8766";
  std::vector<UiUser> users;
  // Without users, whoever reaches the loopback port acts as this approver, with the
  // role "approver". Empty: the name of the OS user running Sluice.
  std::string local_approver;
  PinDesk* pins = nullptr;  // null: the tool pins page says pins are not in use
  std::string audit_path;   // empty: the audit page says there is no audit log
  std::function<UiHealth()> health;
  Metrics* metrics = nullptr;  // null: the server keeps a registry of its own
  UiLimits limits;
  SessionLimits sessions;
  ThrottleLimits throttle;
};

class UiServer {
 public:
  // Binds at once. Throws std::invalid_argument for a malformed address, a non-loopback
  // address without users or a bad password hash (naming the user), and
  // std::system_error when the address cannot be bound. `desk` and `options.pins` must
  // outlive the server.
  UiServer(asio::io_context& io, UiServerOptions options, ApprovalDesk& desk);
  ~UiServer();
  UiServer(const UiServer&) = delete;
  UiServer& operator=(const UiServer&) = delete;

  // Starts accepting connections and following the desk's changes.
  void start();
  // Stops accepting, closes every connection and stops following the desk. Idempotent.
  void stop();

  [[nodiscard]] std::string host() const;
  [[nodiscard]] unsigned short port() const;
  // http://HOST:PORT/ as a browser would be pointed at it.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] const std::string& local_approver() const;

  class State;

 private:
  std::shared_ptr<State> state_;
};

// The name of the OS user running this process, else "local".
std::string os_user_name();

}  // namespace sluice::webui
