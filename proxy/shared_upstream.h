// One upstream transport shared by many proxy sessions (`upstream.shared: true`):
// each session is handed a Transport of its own, and the multiplexer keeps their id
// spaces apart. Client request ids and progress tokens are rewritten to ids unique
// on the upstream and mapped back on the way home; cancellations are translated;
// a server->client request goes to one session and its response comes back from it;
// a notification that belongs to no request goes to every session. The upstream is
// initialized once: later sessions get the first initialize result under their own id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/transport.h"

namespace sluice::proxy {

class SharedUpstream {
 public:
  // `upstream` must outlive this object; run() must be spawned for anything to flow.
  // A session that lets more than `max_queued_bytes` wait unread is detached: the
  // others must not wait for it, and its queue must not grow without end.
  SharedUpstream(const asio::any_io_executor& executor, mcp::Transport& upstream, mcp::ParseLimits limits,
                 std::size_t max_queued_bytes);
  ~SharedUpstream();
  SharedUpstream(const SharedUpstream&) = delete;
  SharedUpstream& operator=(const SharedUpstream&) = delete;

  // A new session's side of the upstream. Closing it (close() or close_receive())
  // detaches the session; the upstream goes on for the others.
  std::unique_ptr<mcp::Transport> attach();

  // Reads the upstream and routes what it sends until it ends; then every attached
  // session's receive() returns nullopt once its queued frames are read.
  asio::awaitable<void> run();

  [[nodiscard]] bool ended() const { return ended_; }
  [[nodiscard]] std::size_t sessions() const { return ports_.size(); }

 private:
  class Port;
  struct ClientRequest {
    Port* port;    // null once its session has gone (only an initialize is kept then)
    mcp::json id;  // as the session sent it
    mcp::json upstream_id;
    std::uint64_t sequence;  // when it was forwarded: the newest names the active session
  };
  struct ClientToken {
    Port* port;
    mcp::json token;
  };

  void from_session(Port& port, std::string wire);
  // The ways of a plain request and response (see shared_upstream.cc); false: take the
  // parsed way.
  bool forward_plain_request(Port& port, std::string_view wire);
  bool route_plain_response(std::string_view text);
  // Gives a request of `port`'s, sent with `client_id`, the next id on the child,
  // remembered until it is answered; returns that id.
  mcp::json register_request(Port& port, mcp::json client_id);
  // Forgets the request the child knows by `key` (and its progress token) and returns
  // it; nullopt when no session asked it.
  std::optional<ClientRequest> take_request(const std::string& key);
  void from_upstream(mcp::Message message);
  void forward_request(Port& port, mcp::Message message);
  void forward_notification(Port& port, mcp::Message message);
  void answer_initialize(const mcp::Message& response);
  void detach(Port& port);
  Port* owner_of_server_request() const;

  asio::any_io_executor executor_;
  mcp::Transport& upstream_;
  mcp::ParseLimits limits_;
  std::size_t max_queued_bytes_;
  std::vector<Port*> ports_;
  std::uint64_t next_id_ = 0;
  std::map<std::string, ClientRequest> client_requests_;  // by upstream id key
  std::map<std::string, ClientToken> progress_tokens_;    // by upstream token key
  struct ServerRequest {
    Port* port;
    mcp::json id;
  };
  std::map<std::string, ServerRequest> server_requests_;  // by id key, as the upstream sent it
  // initialize: the first is forwarded, the others wait for its result.
  bool initialize_sent_ = false;
  bool initialized_sent_ = false;
  std::optional<mcp::json> initialize_result_;
  std::vector<std::pair<Port*, mcp::json>> initialize_waiting_;
  std::string initialize_upstream_key_;
  bool ended_ = false;
};

}  // namespace sluice::proxy
