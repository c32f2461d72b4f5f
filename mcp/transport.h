// What every transport offers the proxy: frames in, messages out, and an end.
// The stdio transports implement it today; Streamable HTTP will implement it too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "mcp/asio.h"
#include "mcp/line_framer.h"

namespace sluice::mcp {

class Transport {
 public:
  virtual ~Transport() = default;

  // The next frame from the peer; nullopt once the peer has closed or reading failed.
  virtual asio::awaitable<std::optional<Frame>> receive() = 0;

  // Queues one serialized message for the peer; messages leave in the order queued.
  // Never waits: callers that produce faster than the peer reads use drain().
  virtual void send(std::string message) = 0;

  // Waits until at most `max_queued_bytes` are still waiting to be written, or the
  // transport cannot write any more.
  virtual asio::awaitable<void> drain(std::size_t max_queued_bytes) = 0;

  // Tells the peer that nothing more will be sent, once the queue is written.
  virtual void close_send() = 0;

  // Stops reading: a pending receive() returns nullopt; sending goes on.
  virtual void close_receive() = 0;

  // Stops at once: a pending receive() returns nullopt, queued messages are dropped.
  virtual void close() = 0;

  [[nodiscard]] virtual bool can_send() const = 0;
};

}  // namespace sluice::mcp
