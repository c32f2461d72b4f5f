// Splits a byte stream into newline-delimited frames, as MCP's stdio transport
// requires, without ever holding more than one bounded line in memory.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/message.h"

namespace sluice::mcp {

struct Frame {
  enum class Kind { line, oversized };
  Kind kind = Kind::line;
  std::string text;        // the line without its terminator (empty when oversized)
  std::size_t size = 0;    // bytes the line had, also when it was discarded
  // Of an oversized line, its first and last bytes (up to kept_end_bytes each), enough
  // to tell whose answer it was (mcp/oversized_line.h).
  std::string head{};
  std::string tail{};
  // The line already parsed, by a transport that had to read it first (the HTTP
  // listener checks a POST's body against its headers): the session takes it as it is
  // rather than parsing the same bytes again. `text` is empty then.
  std::optional<Parsed> parsed{};
};

class LineFramer {
 public:
  static constexpr std::size_t kept_end_bytes = 256;

  explicit LineFramer(std::size_t max_line_bytes);

  // Consumes bytes; every line they complete becomes available through next().
  // A line longer than the limit is discarded as it arrives and reported once,
  // when its newline is seen, as an oversized frame.
  void feed(std::string_view bytes);

  std::optional<Frame> next();

  // Bytes of an unterminated line held back, waiting for its newline.
  [[nodiscard]] std::size_t pending_bytes() const { return partial_.size(); }
  [[nodiscard]] std::size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  void end_line();
  void keep_tail(std::string_view chunk);

  std::size_t max_line_bytes_;
  std::string partial_;
  bool discarding_ = false;
  std::size_t discarded_bytes_ = 0;
  std::string discarded_head_;
  std::string discarded_tail_;
  std::deque<Frame> ready_;
};

}  // namespace sluice::mcp
