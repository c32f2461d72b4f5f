// Server-sent events (the text/event-stream format of the HTML standard), as MCP's
// Streamable HTTP transport uses them: one JSON-RPC message per event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::mcp {

// One event: an optional `id:` line, one `data:` line per line of `data`, and the
// blank line that ends it. An empty `data` gives the priming event MCP 2025-11-25
// asks for (an id to resume from, nothing to deliver).
std::string encode_sse_event(std::string_view id, std::string_view data);

// A comment line: ignored by clients, it keeps idle connections and proxies open.
std::string_view sse_keepalive();

// Splits a text/event-stream into events, keeping only what MCP uses: the id, the
// data, and the `retry:` delay before a reconnection. Comments and other fields are
// skipped. Lines end with CRLF, LF or a lone CR, as the standard says. A line, or an
// event's data, longer than the limit ends the stream as malformed rather than
// growing without bound: many short `data:` lines make one long message too.
class SseDecoder {
 public:
  struct Event {
    std::string id;
    std::string data;
  };

  explicit SseDecoder(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Consumes bytes; false once a line or an event went over the limit, and from then on.
  bool feed(std::string_view bytes);
  // The next complete event, if any.
  bool next(Event& event);
  // The last `retry:` the stream set, in milliseconds (digits only, as the standard says).
  [[nodiscard]] std::optional<std::uint64_t> retry_ms() const { return retry_ms_; }

 private:
  // False when the event being built has grown over the limit.
  bool line(std::string_view text);

  std::size_t max_bytes_;
  bool over_limit_ = false;
  // The last line ended with CR: an LF that follows belongs to it.
  bool after_cr_ = false;
  std::string partial_;
  Event building_;
  bool has_data_ = false;
  std::deque<Event> ready_;
  std::optional<std::uint64_t> retry_ms_;
};

}  // namespace sluice::mcp
