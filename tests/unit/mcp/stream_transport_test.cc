#include "mcp/stream_transport.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>

#include "support/async_test.h"

namespace sluice::mcp {
namespace {

using test::Pipe;
using test::receive_line;
using test::run_test;
using test::write_all;

constexpr std::size_t transport_line_limit = 1 << 20;

// Everything the far end of a pipe receives until the transport closes it.
asio::awaitable<std::string> read_to_end(asio::posix::stream_descriptor& stream) {
  std::string bytes;
  boost::system::error_code ec;
  co_await asio::async_read(stream, asio::dynamic_buffer(bytes),
                            asio::redirect_error(asio::use_awaitable, ec));
  REQUIRE(ec == asio::error::eof);
  co_return bytes;
}

TEST_CASE("messages sent arrive newline-terminated and in the order sent") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  asio::posix::stream_descriptor peer(io, output.release_read());

  run_test(io, [&]() -> asio::awaitable<void> {
    // More messages than one gathered write takes, so the queue is written in turns.
    std::string expected;
    for (int i = 0; i < 200; ++i) {
      const auto message = R"({"jsonrpc":"2.0","method":"n","params":{"i":)" + std::to_string(i) + "}}";
      transport.send(message);
      expected += message + "\n";
    }
    std::string received(expected.size(), '\0');
    co_await asio::async_read(peer, asio::buffer(received), asio::use_awaitable);
    CHECK(received == expected);
  });
}

TEST_CASE("a message larger than the pipe crosses in one write, and the pipe shrinks back once answered") {
  asio::io_context io;
  Pipe input, output;
  const int watched = output.write_end();
  const auto first = static_cast<std::size_t>(::fcntl(watched, F_GETPIPE_SZ));
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  asio::posix::stream_descriptor peer(io, output.release_read());

  run_test(io, [&]() -> asio::awaitable<void> {
    const std::string large(3 * first, 'x');
    transport.send(large);
    // All of it is in the pipe before the peer reads a byte: no write waited for room.
    int in_pipe = 0;
    REQUIRE(::ioctl(peer.native_handle(), FIONREAD, &in_pipe) == 0);
    CHECK(static_cast<std::size_t>(in_pipe) == large.size() + 1);
    std::string received(large.size() + 1, '\0');
    co_await asio::async_read(peer, asio::buffer(received), asio::use_awaitable);
    CHECK(received == large + "\n");

    // The peer's answer: what was sent has been read, so the room goes back.
    write_all(input.write_end(), "{}\n");
    const auto answer = co_await receive_line(transport);
    CHECK(answer == "{}");
    CHECK(static_cast<std::size_t>(::fcntl(peer.native_handle(), F_GETPIPE_SZ)) == first);
  });
}

TEST_CASE("close_send() lets what is queued reach the peer before its end of stream") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  asio::posix::stream_descriptor peer(io, output.release_read());

  run_test(io, [&]() -> asio::awaitable<void> {
    // Larger than a pipe's buffer: the write is still in progress when close_send() comes.
    const std::string large =
        R"({"jsonrpc":"2.0","method":"n","params":{"s":")" + std::string(512 * 1024, 'x') + "\"}}";
    transport.send(large);
    transport.send("{}");
    transport.close_send();
    CHECK_FALSE(transport.can_send());

    const auto received = co_await read_to_end(peer);
    CHECK(received == large + "\n{}\n");
  });
}

TEST_CASE("receive() yields each frame, then nullopt once the peer closes") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    write_all(input.write_end(), "{\"a\":1}\n{\"b\":2}\n");
    input.close_write();
    auto line = co_await receive_line(transport);
    CHECK(line == "{\"a\":1}");
    line = co_await receive_line(transport);
    CHECK(line == "{\"b\":2}");
    const auto end = co_await transport.receive();
    CHECK_FALSE(end.has_value());
  });
}

TEST_CASE("an unterminated last line is delivered at end of stream") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    write_all(input.write_end(), "{\"a\":1}\n{\"last\":true}");
    input.close_write();
    auto line = co_await receive_line(transport);
    CHECK(line == "{\"a\":1}");
    line = co_await receive_line(transport);
    CHECK(line == "{\"last\":true}");
    const auto end = co_await transport.receive();
    CHECK_FALSE(end.has_value());
  });
}

TEST_CASE("a line over the limit arrives as an oversized frame and the stream goes on") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), 16);

  run_test(io, [&]() -> asio::awaitable<void> {
    write_all(input.write_end(), std::string(100, 'x') + "\n{\"ok\":1}\n");
    const auto oversized = co_await transport.receive();
    REQUIRE(oversized.has_value());
    CHECK(oversized->kind == Frame::Kind::oversized);
    CHECK(oversized->size == 100);
    const auto line = co_await receive_line(transport);
    CHECK(line == "{\"ok\":1}");
  });
}

TEST_CASE("close_receive() makes a pending receive() return nullopt") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  AsyncEvent received(io.get_executor());
  std::optional<std::optional<Frame>> result;

  // One write, read at once by the first receive(): whatever follows the first line is
  // held when the second receive() starts waiting.
  SECTION("with nothing more sent") { write_all(input.write_end(), "{\"first\":1}\n"); }
  SECTION("with half a line held") { write_all(input.write_end(), "{\"first\":1}\n{\"half\":"); }

  run_test(io, [&]() -> asio::awaitable<void> {
    const auto line = co_await receive_line(transport);
    CHECK(line == "{\"first\":1}");
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          result = co_await transport.receive();
          received.notify_all();
        },
        asio::detached);
    // Handlers run in the order posted: once this resumes, the receive is waiting to read.
    co_await asio::post(io, asio::use_awaitable);
    REQUIRE_FALSE(result.has_value());

    transport.close_receive();  // the peer's write end stays open: this is no end of stream
    while (!result) co_await received.wait();
    CHECK_FALSE(result->has_value());
  });
}

TEST_CASE("after close_receive() the transport still sends") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  StreamTransport peer(io.get_executor(), output.release_read(), input.release_write(), transport_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    transport.close_receive();
    CHECK(transport.can_send());
    transport.send("{\"after\":1}");
    const auto line = co_await receive_line(peer);
    CHECK(line == "{\"after\":1}");
  });
}

TEST_CASE("when the peer stops reading, sending fails and drain() returns") {
  asio::io_context io;
  Pipe input, output;
  StreamTransport transport(io.get_executor(), input.release_read(), output.release_write(), transport_line_limit);
  output.close_read();

  run_test(io, [&]() -> asio::awaitable<void> {
    transport.send("{\"lost\":1}");
    co_await transport.drain(0);
    CHECK_FALSE(transport.can_send());
  });
}

TEST_CASE("input redirected from a regular file is read like a pipe") {
  char path[] = "/tmp/sluice-stream-transport-XXXXXX";
  const int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  ::unlink(path);
  write_all(file, "{\"a\":1}\n{\"b\":2}\n");
  REQUIRE(::lseek(file, 0, SEEK_SET) == 0);

  asio::io_context io;
  Pipe output;
  StreamTransport transport(io.get_executor(), file, output.release_write(), transport_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    auto line = co_await receive_line(transport);
    CHECK(line == "{\"a\":1}");
    line = co_await receive_line(transport);
    CHECK(line == "{\"b\":2}");
    const auto end = co_await transport.receive();
    CHECK_FALSE(end.has_value());
  });
}

}  // namespace
}  // namespace sluice::mcp
