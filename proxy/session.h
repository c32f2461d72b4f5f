// One client paired with one upstream: reads both sides, runs every message through
// the pipeline, and keeps the two JSON-RPC id spaces apart. The session knows nothing
// of policy or audit; those are filters.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/transport.h"
#include "proxy/pipeline.h"

namespace sluice::proxy {

struct SessionOptions {
  mcp::ParseLimits limits;
  std::string principal = "local";
  // Past this many bytes queued toward a peer, Sluice stops reading from the other
  // side until the peer catches up, instead of buffering without end.
  std::size_t max_queued_bytes = std::size_t{16} << 20;
  // How long Sluice waits for the answer to a request of its own to the upstream.
  std::chrono::milliseconds own_request_timeout{30000};
  // A 2026-07-28 HTTP request: the session lives as long as its one request.
  bool one_request = false;
  // How long a forwarded client request may wait for the upstream's answer before
  // Sluice answers it with an error and cancels it upstream (upstream.request_timeout);
  // zero: no limit.
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};
};

enum class SessionEnd { client_closed, upstream_closed };

class Session final : public SessionContext {
 public:
  Session(const asio::any_io_executor& executor, mcp::Transport& client, mcp::Transport& upstream,
          Pipeline& pipeline, SessionOptions options);

  [[nodiscard]] const std::string& id() const override { return id_; }
  [[nodiscard]] const std::string& principal() const override { return options_.principal; }
  [[nodiscard]] mcp::ProtocolEra era() const override { return era_; }
  [[nodiscard]] const mcp::json& client_capabilities() const override { return client_capabilities_; }
  [[nodiscard]] bool one_request() const override { return options_.one_request; }
  asio::awaitable<std::optional<mcp::Message>> ask_upstream(std::string_view method, mcp::json params) override;
  void notify_client(const mcp::Message& notification) override;
  std::string ask_client(std::string_view method, mcp::json params,
                         std::function<void(const mcp::Message&)> answered) override;
  void withdraw_from_client(const std::string& id, std::string_view reason) override;
  void on_request_gone(const mcp::json& id, std::function<void()> gone) override;
  void take_over(mcp::Message& request, mcp::Message answer,
                 std::function<void(const mcp::Message&)> answered) override;

  // Relays until the client closes its side or the upstream's side ends. When the
  // upstream ends first, every client request still waiting is answered with an error.
  asio::awaitable<SessionEnd> run();

  // Sluice is stopping (SIGTERM): reading from the client ends, run() lets the calls
  // inside a filter finish (a held call's hold is cancelled first, by the caller, so
  // it is answered), and requests the upstream does not answer before it is stopped
  // get a "shutting down" error rather than an "upstream exited" one.
  void shut_down();

  // Waits until the upstream's output has ended (after run() returned client_closed,
  // late responses are still relayed until then).
  asio::awaitable<void> upstream_ended();

  // Waits until no message is inside the pipeline any more (a filter may hold one):
  // only then may the session and its transports be destroyed.
  asio::awaitable<void> settled();

  // Client requests not yet answered.
  [[nodiscard]] std::size_t pending_requests() const { return client_requests_.size(); }

 private:
  struct BatchReply;
  struct PendingRequest {
    mcp::json id;
    std::shared_ptr<BatchReply> batch;
    // A request Sluice took over (take_over): its answer goes here, not to the client.
    std::function<void(const mcp::Message&)> taken_over = {};
    std::uint64_t forwarded = 0;  // once sent upstream: its number in answers_due_; 0 before
  };
  // A forwarded request's answer is due (options_.request_timeout): oldest first, since
  // the timeout is the same for all.
  struct AnswerDue {
    std::chrono::steady_clock::time_point at;
    std::string key;
    std::uint64_t forwarded = 0;
    bool cancellable = true;  // initialize must not be cancelled
  };

  asio::awaitable<void> read_client();
  asio::awaitable<void> read_upstream();
  void accept_from_client(mcp::Parsed parsed);
  void accept_from_upstream(mcp::Parsed parsed);
  void admit_client_message(mcp::Message message, const std::shared_ptr<BatchReply>& batch);
  // The era's record of who the client is: its capabilities, and its modern envelope.
  void remember_client(const mcp::Message& request);
  void process(Direction direction, mcp::Message message);
  asio::awaitable<void> filter_and_deliver(Direction direction, mcp::Message message);
  void deliver(Direction direction, mcp::Message message);
  void answer_client(mcp::Message response);
  void forget_cancelled(const mcp::Message& cancellation);
  void fail_pending_requests(mcp::Error error, const std::string& detail);
  void request_gone(const std::string& key);
  bool take_own_response(mcp::Message& message);
  // The request timeout: the clock starts when a request is forwarded, one timer
  // serves the session, and a request not answered in time is answered in the
  // upstream's place (through the pipeline, so that the audit log records it).
  void start_answer_clock(const std::string& key, PendingRequest& pending, bool cancellable);
  void arm_answer_timer();
  void expire_answers();
  // An answer too large to keep: if what was seen of it names a request in flight,
  // that request gets an error now instead of waiting for its timeout.
  void answer_oversized(const mcp::Frame& frame);
  // In the upstream's place: an error response to the client request, through the pipeline.
  void answer_instead_of_upstream(const mcp::json& id, mcp::Error error, const std::string& detail);

  asio::any_io_executor executor_;
  mcp::Transport& client_;
  mcp::Transport& upstream_;
  Pipeline& pipeline_;
  SessionOptions options_;
  std::string id_;
  // Decided by the client's first request, once; and the envelope of its latest
  // modern request, which Sluice's own requests to the upstream carry.
  mcp::ProtocolEra era_ = mcp::ProtocolEra::undetermined;
  mcp::json modern_envelope_ = mcp::json::object();
  mcp::json client_capabilities_ = mcp::json::object();
  // Keyed by id_key(): client->server requests awaiting their response, and
  // server->client requests awaiting theirs. The two id spaces overlap freely.
  std::unordered_map<std::string, PendingRequest> client_requests_;
  std::unordered_map<std::string, std::string> server_requests_;
  // Who wants to know when a client request goes unanswered for good (a held call).
  std::unordered_map<std::string, std::vector<std::function<void()>>> gone_watchers_;
  // Sluice's own requests to the upstream, by id (own_id_prefix_ + N; the client may not
  // use ids of that form). Their responses, also late ones, stop here.
  const std::string own_id_prefix_;         // "sluice-<8 random hex>-"
  const std::string own_client_id_prefix_;  // own_id_prefix_ + "client-"
  std::unordered_map<std::string, std::optional<mcp::Message>> own_requests_;
  std::uint64_t next_own_request_ = 0;
  // Sluice's own requests to the client (own_client_id_prefix_ + N), by id, awaiting the answer.
  std::unordered_map<std::string, std::function<void(const mcp::Message&)>> own_client_requests_;
  mcp::AsyncEvent own_responses_;
  bool upstream_ended_ = false;
  mcp::AsyncEvent upstream_end_;
  std::size_t in_pipeline_ = 0;
  mcp::AsyncEvent pipeline_left_;
  std::deque<AnswerDue> answers_due_;
  std::uint64_t forwarded_count_ = 0;
  asio::steady_timer answer_timer_;
  bool answer_timer_armed_ = false;
  // The timer's handler may already be queued when the session is destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool shutting_down_ = false;
};

}  // namespace sluice::proxy
