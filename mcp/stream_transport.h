// A Transport over a pair of byte streams: Sluice's own stdin/stdout toward the
// client, or the pipes of an upstream child process.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "mcp/async_event.h"
#include "mcp/line_reader.h"
#include "mcp/pipe_capacity.h"
#include "mcp/transport.h"

namespace sluice::mcp {

class StreamTransport final : public Transport {
 public:
  // Takes ownership of both descriptors, which must be distinct.
  StreamTransport(const asio::any_io_executor& executor, int read_fd, int write_fd,
                  std::size_t max_message_bytes);

  asio::awaitable<std::optional<Frame>> receive() override;
  void send(std::string message) override;
  asio::awaitable<void> drain(std::size_t max_queued_bytes) override;
  void close_send() override;
  void close_receive() override { reader_.close(); }
  void close() override;
  [[nodiscard]] bool can_send() const override { return !write_failed_ && !send_closed_; }

 private:
  asio::awaitable<void> write_queued();
  void close_write_side();

  LineReader reader_;
  asio::posix::stream_descriptor writer_;
  PipeCapacity write_capacity_;
  std::deque<std::string> queue_;
  // Of the first message queued, the bytes a direct write already put in the pipe.
  std::size_t front_written_ = 0;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::chrono::steady_clock::time_point last_direct_write_;
  bool write_failed_ = false;
  bool send_closed_ = false;
  AsyncEvent written_;
};

}  // namespace sluice::mcp
