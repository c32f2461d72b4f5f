#include "mcp/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace sluice::mcp {
namespace {

void pump(int from, int to) {
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(from, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = ::write(to, buffer + done, static_cast<size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) {
        ::close(from);
        ::close(to);
        return;
      }
      done += put;
    }
  }
  ::close(from);
  ::close(to);
}

}  // namespace

int pollable_descriptor(int fd, bool for_reading) {
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return fd;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  if (for_reading) {
    std::thread(pump, fd, pipe_fds[1]).detach();
    return pipe_fds[0];
  }
  std::thread(pump, pipe_fds[0], fd).detach();
  return pipe_fds[1];
}

LineReader::LineReader(const asio::any_io_executor& executor, int fd, std::size_t max_line_bytes)
    : stream_(executor, pollable_descriptor(fd, true)), framer_(max_line_bytes), capacity_(stream_.native_handle()) {}

asio::awaitable<std::optional<Frame>> LineReader::next() {
  for (;;) {
    if (auto frame = framer_.next()) {
      // The large line has crossed: the room it was given goes back.
      if (capacity_.grown() && framer_.pending_bytes() == 0) capacity_.relax();
      co_return frame;
    }
    if (ended_) co_return std::nullopt;
    // A line longer than the pipe holds, of a size not known yet: the writer gets all
    // the room there is for the rest of it, rather than a pipe's worth per wake-up
    // (mcp/pipe_capacity.h).
    if (framer_.pending_bytes() >= capacity_.bytes()) capacity_.fit(PipeCapacity::most);
    boost::system::error_code ec;
    const auto got = co_await stream_.async_read_some(asio::buffer(buffer_),
                                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // An unterminated last line still counts at end of stream, but not after close():
      // then the read was cut off, and the line may be only half of one.
      if (!ended_) framer_.feed("\n");
      ended_ = true;
    } else {
      framer_.feed(std::string_view(buffer_.data(), got));
    }
  }
}

void LineReader::close() {
  ended_ = true;
  boost::system::error_code ignored;
  stream_.close(ignored);
}

}  // namespace sluice::mcp
