// Reads newline-delimited frames from a file descriptor without blocking the loop.
#pragma once

#include <array>
#include <optional>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "mcp/asio.h"
#include "mcp/line_framer.h"
#include "mcp/pipe_capacity.h"

namespace sluice::mcp {

class LineReader {
 public:
  // Takes ownership of `fd`. A regular file (stdin redirected from a file) cannot be
  // polled, so its bytes are pumped through a pipe by a helper thread.
  LineReader(const asio::any_io_executor& executor, int fd, std::size_t max_line_bytes);

  // The next frame; nullopt at end of stream or on a read error. An unterminated
  // last line is still delivered at end of stream.
  asio::awaitable<std::optional<Frame>> next();

  void close();

 private:
  asio::posix::stream_descriptor stream_;
  LineFramer framer_;
  PipeCapacity capacity_;
  bool ended_ = false;
  std::array<char, 64 * 1024> buffer_{};
};

// Returns a descriptor that epoll accepts for reading from (`for_reading`) or
// writing to `fd`: `fd` itself, or a pipe that a detached thread pumps when `fd`
// is a regular file.
int pollable_descriptor(int fd, bool for_reading);

}  // namespace sluice::mcp
