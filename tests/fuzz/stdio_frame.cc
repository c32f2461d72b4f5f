// The stdio path: bytes from a peer through the newline framer, and every frame
// through the JSON-RPC parser, as StreamTransport and the proxy use them. The input's
// first byte picks the chunk size, so that lines also arrive split across reads; the
// frames must be those of a plain reading of the whole input, whatever the split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mcp/line_framer.h"
#include "mcp/message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::mcp;

constexpr std::size_t max_line = 256;

// The frames of `bytes` as the framer documents them, read in one piece.
std::vector<Frame> reference_frames(std::string_view bytes) {
  std::vector<Frame> frames;
  for (auto newline = bytes.find('\n'); newline != std::string_view::npos; newline = bytes.find('\n')) {
    auto line = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    if (line.size() > max_line) {
      const auto kept = LineFramer::kept_end_bytes;
      frames.push_back(Frame{Frame::Kind::oversized, {}, line.size(), std::string(line.substr(0, kept)),
                             std::string(line.substr(line.size() - std::min(kept, line.size())))});
      continue;
    }
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    frames.push_back(Frame{Frame::Kind::line, std::string(line), line.size()});
  }
  return frames;
}

void check_parse(std::string text) {
  // Small limits, so that the fuzzer reaches the size and depth refusals.
  const ParseLimits limits{.max_message_bytes = 200, .max_depth = 8};
  auto parsed = parse_frame(std::move(text), limits);
  if (const auto* malformed = std::get_if<Malformed>(&parsed)) {
    // The answer to a malformed frame is itself a well-formed message.
    FUZZ_CHECK(std::holds_alternative<Message>(parse_frame(error_response(*malformed).wire(), ParseLimits{})));
  } else if (const auto* message = std::get_if<Message>(&parsed)) {
    // What is forwarded parses again as the same kind of message.
    const auto again = parse_frame(message->wire(), ParseLimits{});
    const auto* reparsed = std::get_if<Message>(&again);
    FUZZ_CHECK(reparsed != nullptr && reparsed->kind() == message->kind());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto expected = reference_frames(input);

  LineFramer framer(max_line);
  std::size_t seen = 0;
  for (std::string_view rest = input; !rest.empty();) {
    const auto piece = rest.substr(0, std::min(chunk, rest.size()));
    rest.remove_prefix(piece.size());
    framer.feed(piece);
    FUZZ_CHECK(framer.pending_bytes() <= max_line);
    while (auto frame = framer.next()) {
      FUZZ_CHECK(seen < expected.size());
      const auto& want = expected[seen++];
      FUZZ_CHECK(frame->kind == want.kind && frame->size == want.size && frame->text == want.text);
      FUZZ_CHECK(frame->head == want.head && frame->tail == want.tail);
      if (frame->kind == Frame::Kind::line) check_parse(std::move(frame->text));
    }
  }
  FUZZ_CHECK(seen == expected.size());
  return 0;
}
