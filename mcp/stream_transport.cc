#include "mcp/stream_transport.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <boost/asio/write.hpp>

namespace sluice::mcp {
namespace {
// Bounds one gathered write so that a burst of small messages becomes one syscall
// without building an unbounded iovec.
constexpr std::size_t max_messages_per_write = 64;
constexpr char newline = '\n';
// A message sent this soon after the previous direct write is part of a burst (pipelined
// requests, a batch's answers): it queues, so that the burst leaves in one writev rather
// than one system call each. A round trip through Sluice takes longer than this.
constexpr auto burst_gap = std::chrono::microseconds(20);
}  // namespace

StreamTransport::StreamTransport(const asio::any_io_executor& executor, int read_fd, int write_fd,
                                 std::size_t max_message_bytes)
    : reader_(executor, read_fd, max_message_bytes),
      writer_(executor, pollable_descriptor(write_fd, false)),
      write_capacity_(writer_.native_handle()),
      written_(executor) {
  // send() writes directly when nothing is queued, and must never block the loop;
  // where the descriptor cannot be made non-blocking, every write goes through the queue.
  boost::system::error_code ignored;
  writer_.non_blocking(true, ignored);
}

asio::awaitable<std::optional<Frame>> StreamTransport::receive() {
  auto frame = co_await reader_.next();
  // An answer means the peer has read what it answers: a pipe grown for a large
  // message can have its usual size back.
  if (frame && write_capacity_.grown()) write_capacity_.relax();
  co_return frame;
}

void StreamTransport::send(std::string message) {
  if (!can_send()) return;
  // A message the pipe cannot hold crosses in one go rather than a pipe's worth per
  // wake-up of the reader (mcp/pipe_capacity.h).
  write_capacity_.fit(queued_bytes_ + message.size() + 1);
  const auto now = std::chrono::steady_clock::now();
  std::size_t written = 0;
  if (!writing_ && writer_.non_blocking() && now - last_direct_write_ >= burst_gap) {
    // Nothing queued: try the write now. A pipe with room takes the whole message, and
    // the coroutine that would otherwise write it (a post, a wake-up of the loop and a
    // second pass of the reactor per message) is not needed.
    last_direct_write_ = now;
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(message), asio::buffer(&newline, 1)};
    boost::system::error_code ec;
    const std::size_t put = writer_.write_some(buffers, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      write_failed_ = true;
      written_.notify_all();
      return;
    }
    if (put == message.size() + 1) return;
    // The rest waits for the pipe to drain, as the first message queued (nothing was),
    // written from where the pipe stopped taking it: not moved down, as it may be
    // megabytes. A message written up to its newline still has the newline to go.
    written = std::min(put, message.size());
    front_written_ = written;
  }
  queued_bytes_ += message.size() - written + 1;
  queue_.push_back(std::move(message));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(writer_.get_executor(), write_queued(), asio::detached);
  }
}

asio::awaitable<void> StreamTransport::write_queued() {
  std::vector<asio::const_buffer> buffers;
  while (!queue_.empty() && !write_failed_) {
    const std::size_t count = std::min(queue_.size(), max_messages_per_write);
    buffers.clear();
    for (std::size_t i = 0; i < count; ++i) {
      buffers.emplace_back(asio::buffer(queue_[i]) + (i == 0 ? front_written_ : 0));
      buffers.emplace_back(asio::buffer(&newline, 1));
    }
    boost::system::error_code ec;
    co_await asio::async_write(writer_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // The peer stopped reading (EPIPE) or the descriptor was closed under us.
      write_failed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      front_written_ = 0;
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        queued_bytes_ -= queue_.front().size() - front_written_ + 1;
        front_written_ = 0;
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
    front_written_ = 0;
  }
  close_write_side();
  written_.notify_all();
}

}  // namespace sluice::mcp
