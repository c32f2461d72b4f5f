// The client side of one Streamable HTTP session, as an mcp::Transport, so that the
// proxy's Session relays it like a stdio client. Messages the client POSTs come out
// of receive(); each message the proxy sends goes to exactly one stream: a response
// to the stream of the POST that carried its request, a progress notification to the
// stream of the request that asked for progress, anything else to the GET stream when
// one is open, else to the newest open POST stream, else it waits for a GET stream.
#pragma once

#include <chrono>
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/request_headers.h"
#include "mcp/transport.h"

namespace sluice::mcp {

// What the HTTP layer needs to know of one POST body.
struct PostSummary {
  bool initialize = false;     // carries an initialize request
  bool batch = false;
  std::vector<json> request_ids;
  std::vector<json> progress_tokens;  // params._meta.progressToken of those requests
  std::vector<json> cancelled_ids;    // requestId of notifications/cancelled in it
};
PostSummary summarize_post(const Parsed& parsed);

// One SSE stream (or, for a client that accepts only JSON, one JSON answer). Events
// are kept after they are written, up to a byte budget, so that a client whose
// connection broke can resume with Last-Event-ID.
class ServerStream {
 public:
  ServerStream(const asio::any_io_executor& executor, std::string id, bool json_answer, std::size_t replay_bytes);

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] bool json_answer() const { return json_answer_; }

  // Appends one message as the next event.
  void push(std::string_view message);
  // A stream that will carry nothing more: a POST stream once its requests are answered.
  void finish();
  [[nodiscard]] bool finished() const { return finished_; }

  // The sequence number the next pushed event gets; events [first_held(), next_seq())
  // are held.
  [[nodiscard]] std::uint64_t next_seq() const { return first_seq_ + events_.size(); }
  [[nodiscard]] std::uint64_t first_held() const { return first_seq_; }
  // The message with this sequence number (empty for the priming event).
  [[nodiscard]] const std::string& message(std::uint64_t seq) const { return events_[seq - first_seq_]; }
  // The same as it goes out: an encoded SSE event, or for a JSON answer the message.
  // Encoded when written, so that an answer that goes out as JSON is never encoded.
  [[nodiscard]] std::string event(std::uint64_t seq) const;
  // Records that events before `seq` reached a connection; only those may be dropped
  // to keep within the replay budget.
  void mark_written(std::uint64_t seq);
  // Where a connection that does not resume starts: the first event not yet written.
  [[nodiscard]] std::uint64_t first_unwritten() const { return std::max(first_seq_, written_seq_); }

  // The one message of an SSE stream that has carried nothing else (no progress, no
  // request of the server's) and of which nothing was written yet: a client that also
  // accepts JSON can have it as a JSON answer instead of a stream.
  [[nodiscard]] bool has_sole_message() const { return sole_message_.has_value(); }
  // Whether more than one message went into the stream (the priming event is none).
  [[nodiscard]] bool carried_several() const { return messages_ > 1; }
  // Hands the sole message over, and counts the stream as written.
  std::string take_sole_message();

  // The sequence number a Last-Event-ID of this stream names, or nullopt.
  [[nodiscard]] std::optional<std::uint64_t> parse_event_id(std::string_view event_id) const;

  // A connection takes the stream over; an earlier connection still attached sees
  // its generation pass and lets go.
  std::uint64_t attach();
  void detach(std::uint64_t generation);
  [[nodiscard]] bool attached() const { return attached_; }
  // Every event held was written to a connection.
  [[nodiscard]] bool delivered() const { return first_unwritten() >= next_seq(); }
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  // Wakes the connection writing this stream, and who waits for it to be delivered().
  AsyncEvent& changed() { return changed_; }

 private:
  void trim();

  std::string id_;
  bool json_answer_;
  std::size_t replay_bytes_;
  std::deque<std::string> events_;  // the messages, encoded only when written
  std::optional<std::uint64_t> sole_message_;  // its sequence number
  std::size_t messages_ = 0;
  std::size_t held_bytes_ = 0;
  std::uint64_t first_seq_ = 0;
  std::uint64_t written_seq_ = 0;
  bool finished_ = false;
  bool attached_ = false;
  std::uint64_t generation_ = 0;
  AsyncEvent changed_;
};

struct HttpSessionLimits {
  std::size_t max_message_bytes = std::size_t{64} << 20;
  // Bytes of events each stream keeps for resumption after they were written.
  std::size_t replay_bytes = std::size_t{1} << 20;
};

// A 2025 session lives from initialize to DELETE or idle expiry. A modern (2026-07-28)
// one carries exactly one POSTed request and its answer: the protocol has no sessions,
// and the listener closes it when the answer is written or the client hangs up.
enum class HttpSessionShape { legacy, modern_request };

class HttpServerSession final : public Transport {
 public:
  // The x-mcp-header annotations of the tools/list results it carries are learned into
  // `tool_headers` (when given), for the listener's header checks.
  HttpServerSession(const asio::any_io_executor& executor, std::string principal, HttpSessionLimits limits,
                    HttpSessionShape shape = HttpSessionShape::legacy, ToolHeaderMap* tool_headers = nullptr);

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] bool modern() const { return shape_ == HttpSessionShape::modern_request; }
  [[nodiscard]] const std::string& principal() const { return principal_; }
  // The protocol revision the server answered initialize with; empty before.
  [[nodiscard]] const std::string& protocol_version() const { return protocol_version_; }

  // Takes one POST body. Returns the stream that will carry the answers when the body
  // holds requests, else nullptr (the POST is answered 202).
  std::shared_ptr<ServerStream> post(Parsed body, std::size_t body_bytes, const PostSummary& summary, bool json_answer);

  // The stream a Last-Event-ID names, if it is still held.
  [[nodiscard]] std::shared_ptr<ServerStream> stream_of_event(std::string_view event_id) const;
  // The stream of server-initiated messages, for GET.
  [[nodiscard]] const std::shared_ptr<ServerStream>& standalone() const { return standalone_; }

  // For idle expiry: when the session was last used, and whether anything is open.
  void touch() { last_used_ = std::chrono::steady_clock::now(); }
  [[nodiscard]] std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  [[nodiscard]] bool busy() const;
  [[nodiscard]] bool closed() const { return receive_closed_; }
  // A stream of answers (not the GET stream) not yet delivered(), or nullptr: Sluice,
  // stopping, waits for these before it ends the session.
  [[nodiscard]] std::shared_ptr<ServerStream> undelivered_answers() const;

  asio::awaitable<std::optional<Frame>> receive() override;
  void send(std::string message) override;
  asio::awaitable<void> drain(std::size_t /*max_queued_bytes*/) override { co_return; }
  void close_send() override;
  void close_receive() override;
  void close() override;
  [[nodiscard]] bool can_send() const override { return !send_closed_; }

 private:
  std::shared_ptr<ServerStream> open_stream(bool json_answer);
  ServerStream* route(const json& message);
  void answered(const json& id);
  void forget_finished_streams();

  asio::any_io_executor executor_;
  std::string id_;
  std::string principal_;
  HttpSessionLimits limits_;
  HttpSessionShape shape_;
  ToolHeaderMap* tool_headers_;
  std::string protocol_version_;
  std::optional<std::string> initialize_request_;  // id_key of the initialize request
  std::deque<Frame> inbound_;
  AsyncEvent inbound_ready_;
  bool receive_closed_ = false;
  bool send_closed_ = false;
  std::uint64_t next_stream_ = 1;
  std::shared_ptr<ServerStream> standalone_;
  // POST streams by number, the open ones and the last few finished ones (for
  // resumption); and which of them each request and progress token belongs to
  // (keyed by id_key()).
  std::map<std::uint64_t, std::shared_ptr<ServerStream>> streams_;
  std::unordered_map<std::string, std::shared_ptr<ServerStream>> by_request_;
  std::unordered_map<std::string, std::shared_ptr<ServerStream>> by_progress_token_;
  std::unordered_map<std::string, std::size_t> unanswered_;  // per stream id
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace sluice::mcp
