#include "mcp/stream_transport.h"

#include <boost/asio/write.hpp>
#include <vector>

namespace sluice::mcp {
namespace {
// Bounds one gathered write so that a burst of small messages becomes one syscall
// without building an unbounded iovec.
constexpr std::size_t max_messages_per_write = 64;
}  // namespace

StreamTransport::StreamTransport(const asio::any_io_executor& executor, int read_fd, int write_fd,
                                 std::size_t max_message_bytes)
    : reader_(executor, read_fd, max_message_bytes),
      writer_(executor, pollable_descriptor(write_fd, false)),
      written_(executor) {}

asio::awaitable<std::optional<Frame>> StreamTransport::receive() { return reader_.next(); }

void StreamTransport::send(std::string message) {
  if (!can_send()) return;
  queued_bytes_ += message.size() + 1;
  queue_.push_back(std::move(message));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(writer_.get_executor(), write_queued(), asio::detached);
  }
}

asio::awaitable<void> StreamTransport::write_queued() {
  static const char newline = '\n';
  std::vector<asio::const_buffer> buffers;
  while (!queue_.empty() && !write_failed_) {
    const std::size_t count = std::min(queue_.size(), max_messages_per_write);
    buffers.clear();
    for (std::size_t i = 0; i < count; ++i) {
      buffers.emplace_back(asio::buffer(queue_[i]));
      buffers.emplace_back(asio::buffer(&newline, 1));
    }
    boost::system::error_code ec;
    co_await asio::async_write(writer_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // The peer stopped reading (EPIPE) or the descriptor was closed under us.
      write_failed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        queued_bytes_ -= queue_.front().size() + 1;
        queue_.pop_front();
      }
    }
    written_.notify_all();
  }
  writing_ = false;
  if (send_closed_) close_write_side();
  written_.notify_all();
}

asio::awaitable<void> StreamTransport::drain(std::size_t max_queued_bytes) {
  while (queued_bytes_ > max_queued_bytes && !write_failed_) co_await written_.wait();
}

void StreamTransport::close_send() {
  if (send_closed_) return;
  send_closed_ = true;
  if (!writing_) close_write_side();
}

void StreamTransport::close_write_side() {
  boost::system::error_code ignored;
  writer_.close(ignored);
}

void StreamTransport::close() {
  reader_.close();
  send_closed_ = true;
  write_failed_ = true;
  // A write in flight still points into the queue; it fails once the descriptor is
  // closed and empties the queue itself.
  if (!writing_) {
    queue_.clear();
    queued_bytes_ = 0;
  }
  close_write_side();
  written_.notify_all();
}

}  // namespace sluice::mcp
