// What the asynchronous unit tests share: real pipes, a test's steps run as one
// coroutine on an io_context under a deadline that fails the test instead of hanging
// it, and reading one line from a transport.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mcp/asio.h"
#include "mcp/transport.h"

namespace sluice::test {

// A pipe whose ends are closed when it goes out of scope, unless handed on with
// release_read() or release_write() (a StreamTransport takes ownership of them).
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    read_ = fds[0];
    write_ = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  [[nodiscard]] int read_end() const { return read_; }
  [[nodiscard]] int write_end() const { return write_; }
  int release_read() { return std::exchange(read_, -1); }
  int release_write() { return std::exchange(write_, -1); }
  void close_read() {
    if (read_ >= 0) ::close(std::exchange(read_, -1));
  }
  void close_write() {
    if (write_ >= 0) ::close(std::exchange(write_, -1));
  }

 private:
  int read_ = -1;
  int write_ = -1;
};

// Writes all of `bytes` to a blocking descriptor; test payloads fit in a pipe's buffer.
inline void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t put = ::write(fd, bytes.data(), bytes.size());
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw std::system_error(errno, std::generic_category(), "write");
    bytes.remove_prefix(static_cast<std::size_t>(put));
  }
}

// Runs the coroutine `steps()` on `io` until it finishes, and rethrows what it threw
// (a failed REQUIRE included). Fails the test if it has not finished within `limit`.
// Whatever else is still pending on `io` afterwards is abandoned with the io_context.
template <class Steps>
void run_test(asio::io_context& io, Steps&& steps,
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  // Sluice ignores SIGPIPE (a peer that goes away is a failed write); so do its tests.
  ::signal(SIGPIPE, SIG_IGN);
  bool finished = false;
  bool timed_out = false;
  std::exception_ptr failure;
  asio::steady_timer deadline(io, limit);
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    timed_out = true;
    io.stop();
  });
  asio::co_spawn(io, steps(), [&](const std::exception_ptr& error) {
    failure = error;
    finished = true;
    io.stop();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (timed_out || !finished) FAIL("the test's steps did not finish within " << limit.count() << " ms");
}

// The text of the next frame from `transport`; fails the test if the stream ended or
// the frame was oversized.
inline asio::awaitable<std::string> receive_line(mcp::Transport& transport) {
  auto frame = co_await transport.receive();
  REQUIRE(frame.has_value());
  REQUIRE(frame->kind == mcp::Frame::Kind::line);
  co_return std::move(frame->text);
}

// The next frame from `transport`, parsed.
inline asio::awaitable<nlohmann::json> receive_json(mcp::Transport& transport) {
  co_return nlohmann::json::parse(co_await receive_line(transport));
}

}  // namespace sluice::test
