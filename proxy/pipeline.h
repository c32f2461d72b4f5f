// The filter chain every message passes. A filter looks at one message and returns a
// Verdict: forward it, answer it in the peer's place, or drop it. A filter that has
// to wait (for an approval, for the audit log) simply co_awaits; the session runs
// each message in its own coroutine, so a suspended one holds up nothing else.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcp/asio.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"
#include "policy/decision.h"

namespace sluice::proxy {

enum class Direction { client_to_server, server_to_client };

std::string_view to_string(Direction direction);

// What a filter may know of, and ask of, the session a message belongs to.
class SessionContext {
 public:
  virtual ~SessionContext() = default;
  [[nodiscard]] virtual const std::string& id() const = 0;
  // Who is calling: the authenticated principal, or on stdio the local user.
  [[nodiscard]] virtual const std::string& principal() const = 0;
  // The protocol era the client opened the connection in; every result Sluice makes
  // itself is shaped for it (mcp::own_result).
  [[nodiscard]] virtual mcp::ProtocolEra era() const = 0;
  // What the client declared it can do (`initialize` capabilities, or the modern
  // envelope's clientCapabilities); an empty object until it said.
  [[nodiscard]] virtual const mcp::json& client_capabilities() const = 0;
  // Whether the session ends with the answer to its one request (a 2026-07-28 request
  // over HTTP): nothing of the session outlives that answer, so no later request can
  // reach a task it made.
  [[nodiscard]] virtual bool one_request() const { return false; }
  // Sends a request of Sluice's own to the upstream, in the client's era (a modern
  // request carries the client's envelope: a dual-era upstream must not be opened in
  // another era than the client's), and returns its response, which the client never
  // sees; nullopt when the upstream is gone.
  virtual asio::awaitable<std::optional<mcp::Message>> ask_upstream(std::string_view method, mcp::json params) = 0;
  // Sends a notification of Sluice's own to the client (progress while a call is held).
  virtual void notify_client(const mcp::Message& notification) = 0;
  // Sends a request of Sluice's own to the client (2025 era: an elicitation while a
  // call is held), from an id range clients' peers do not use; `answered` gets the
  // client's response, which goes no further. Returns the id, to withdraw it.
  virtual std::string ask_client(std::string_view method, mcp::json params,
                                 std::function<void(const mcp::Message&)> answered) = 0;
  // Tells the client a request of Sluice's own is no longer wanted (it is forgotten).
  virtual void withdraw_from_client(const std::string& id, std::string_view reason) = 0;
  // Runs `gone` once if the client cancels the request with this id, or goes away,
  // before it is answered; forgotten when it is answered. Runs at once if the request
  // is no longer awaited.
  virtual void on_request_gone(const mcp::json& id, std::function<void()> gone) = 0;
  // Answers the client's `request`, which a filter still holds, now with `answer` (a
  // task Sluice made of the call), and keeps the request as one of Sluice's own: its
  // id becomes one the client cannot use, and whatever answers it from here on (the
  // upstream's response, after the filters, or a filter's own answer) goes to
  // `answered`, never to the client. on_request_gone() works on the new id.
  virtual void take_over(mcp::Message& request, mcp::Message answer,
                         std::function<void(const mcp::Message&)> answered) = 0;
};

// What a filter sees of one message in flight.
struct Exchange {
  Direction direction;
  mcp::Message& message;  // filters may rewrite it (mutable_body)
  SessionContext& session;
  // Set by the policy filter on a tools/call, for the filters that record or act on it.
  std::optional<policy::Decision> decision = std::nullopt;
  // Set by the policy filter on a tools/call that retries one the upstream answered
  // with input_required (2026-07-28): the call was decided, approved and recorded in
  // its first round, whose request id this is; a retry is the same call, not another.
  std::optional<mcp::json> retry_of = std::nullopt;
};

class Verdict {
 public:
  enum class Kind { forward, answer, drop };

  static Verdict forward() { return Verdict(Kind::forward, std::nullopt); }
  // Answers a request in the peer's place; the message is not forwarded.
  static Verdict answer(mcp::Message response) { return Verdict(Kind::answer, std::move(response)); }
  // Swallows the message (a notification, or a response to Sluice's own request).
  static Verdict drop() { return Verdict(Kind::drop, std::nullopt); }

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] mcp::Message& response() { return *response_; }

 private:
  Verdict(Kind kind, std::optional<mcp::Message> response) : kind_(kind), response_(std::move(response)) {}
  Kind kind_;
  std::optional<mcp::Message> response_;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual asio::awaitable<Verdict> on_message(Exchange& exchange) = 0;
  // Runs for every filter once the verdict is known, whoever gave it, before it takes
  // effect; may replace it. This is where a verdict is made durable (the audit log)
  // before anything acts on it.
  virtual asio::awaitable<void> on_verdict(Exchange& /*exchange*/, Verdict& /*verdict*/) { co_return; }
};

class Pipeline {
 public:
  void add(std::unique_ptr<Filter> filter) { filters_.push_back(std::move(filter)); }
  [[nodiscard]] bool empty() const { return filters_.empty(); }

  // Runs the filters in order until one answers or drops the message, then every
  // filter's on_verdict.
  asio::awaitable<Verdict> run(Exchange& exchange);

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
};

}  // namespace sluice::proxy
