#include "mcp/line_framer.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice::mcp {
namespace {

std::vector<Frame> take_all(LineFramer& framer) {
  std::vector<Frame> frames;
  while (auto frame = framer.next()) frames.push_back(std::move(*frame));
  return frames;
}

std::vector<std::string> texts(const std::vector<Frame>& frames) {
  std::vector<std::string> result;
  for (const auto& frame : frames) {
    REQUIRE(frame.kind == Frame::Kind::line);
    result.push_back(frame.text);
  }
  return result;
}

TEST_CASE("a message arriving byte by byte is delivered once its newline arrives") {
  LineFramer framer(1024);
  const std::string message = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";

  for (const char c : message) {
    framer.feed(std::string_view(&c, 1));
    REQUIRE_FALSE(framer.next().has_value());
  }
  CHECK(framer.pending_bytes() == message.size());

  framer.feed("\n");
  const auto frames = take_all(framer);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::line);
  CHECK(frames[0].text == message);
  CHECK(frames[0].size == message.size());
  CHECK(framer.pending_bytes() == 0);
}

TEST_CASE("several messages in one read are delivered separately, in order") {
  LineFramer framer(1024);

  SECTION("all of them complete") {
    framer.feed("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    CHECK(texts(take_all(framer)) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
    CHECK(framer.pending_bytes() == 0);
  }
  SECTION("the last one completed by the next read") {
    framer.feed("{\"a\":1}\n{\"b\":2}\n{\"c\"");
    CHECK(texts(take_all(framer)) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
    CHECK(framer.pending_bytes() == 4);
    framer.feed(":3}\n");
    CHECK(texts(take_all(framer)) == std::vector<std::string>{"{\"c\":3}"});
  }
}

TEST_CASE("a CRLF terminator does not become part of the message") {
  LineFramer framer(1024);

  SECTION("CR and LF in the same read") { framer.feed("{\"a\":1}\r\n{\"b\":2}\r\n"); }
  SECTION("CR and LF in different reads") {
    framer.feed("{\"a\":1}\r");
    framer.feed("\n{\"b\":2}\r");
    framer.feed("\n");
  }
  CHECK(texts(take_all(framer)) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
}

TEST_CASE("blank lines between messages are skipped") {
  LineFramer framer(1024);
  framer.feed("\n{\"a\":1}\n\n\r\n  \t \n{\"b\":2}\n\n");
  CHECK(texts(take_all(framer)) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
}

TEST_CASE("a line exactly as long as the limit is delivered whole") {
  constexpr std::size_t limit = std::size_t{4} << 20;
  LineFramer framer(limit);
  std::string line(limit, 'x');
  line.front() = '"';
  line.back() = '"';

  SECTION("in one read") { framer.feed(line + "\n"); }
  SECTION("in reads of 64 KiB, as the reader does") {
    for (std::size_t at = 0; at < line.size(); at += 64 * 1024) {
      framer.feed(std::string_view(line).substr(at, 64 * 1024));
    }
    framer.feed("\n");
  }
  const auto frames = take_all(framer);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::line);
  CHECK(frames[0].size == limit);
  CHECK(frames[0].text == line);
}

TEST_CASE("a line over the limit is reported once as oversized, and the next line is still delivered") {
  LineFramer framer(16);
  const std::string too_long(40, 'x');

  SECTION("in one read") { framer.feed(too_long + "\n{\"ok\":1}\n"); }
  SECTION("one byte over the limit") {
    const std::string just_over(17, 'x');
    framer.feed(just_over + "\n{\"ok\":1}\n");
  }
  SECTION("in reads that each fit the limit") {
    framer.feed(too_long.substr(0, 10));
    framer.feed(too_long.substr(10, 10));
    framer.feed(too_long.substr(20) + "\n");
    framer.feed("{\"ok\":1}\n");
  }
  const auto frames = take_all(framer);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].kind == Frame::Kind::oversized);
  CHECK(frames[0].text.empty());
  CHECK(frames[0].size > 16);
  CHECK(frames[1].kind == Frame::Kind::line);
  CHECK(frames[1].text == "{\"ok\":1}");
}

TEST_CASE("an oversized line reports the number of bytes it had") {
  LineFramer framer(16);
  const std::string half(25, 'x');
  framer.feed(half);
  framer.feed(half + "\n");
  const auto frames = take_all(framer);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::oversized);
  CHECK(frames[0].size == 50);
}

TEST_CASE("an oversized line arriving in many reads never holds more than the limit") {
  constexpr std::size_t limit = 64 * 1024;
  LineFramer framer(limit);
  const std::string chunk(limit / 3 + 1, 'x');

  std::size_t fed = 0;
  for (int i = 0; i < 100; ++i) {
    framer.feed(chunk);
    fed += chunk.size();
    REQUIRE(framer.pending_bytes() <= limit);
    REQUIRE_FALSE(framer.next().has_value());
  }
  framer.feed("\n");
  const auto frames = take_all(framer);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].kind == Frame::Kind::oversized);
  CHECK(frames[0].size == fed);
  CHECK(framer.pending_bytes() == 0);
}

}  // namespace
}  // namespace sluice::mcp
