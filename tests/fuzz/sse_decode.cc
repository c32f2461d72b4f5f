// The SSE decoder, as the HTTP client transport reads an upstream's text/event-stream:
// hostile bytes fed in chunks of a size the first byte picks must give the same events
// as the whole input fed at once, and no event or held line may outgrow the limit.
// Then the encoder's output for (id, data) taken from the input decodes to the same.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/sse.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sluice::mcp::SseDecoder;

constexpr std::size_t max_line = 512;

struct Decoded {
  std::vector<SseDecoder::Event> events;
  bool ok = true;
};

Decoded decode(std::string_view bytes, std::size_t chunk) {
  SseDecoder decoder(max_line);
  Decoded out;
  while (!bytes.empty() && out.ok) {
    const auto piece = bytes.substr(0, std::min(chunk, bytes.size()));
    bytes.remove_prefix(piece.size());
    out.ok = decoder.feed(piece);
    SseDecoder::Event event;
    while (decoder.next(event)) {
      FUZZ_CHECK(event.id.size() <= max_line && event.data.size() <= max_line);
      out.events.push_back(std::move(event));
    }
  }
  return out;
}

bool same(const Decoded& a, const Decoded& b) {
  if (a.ok != b.ok || a.events.size() != b.events.size()) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    if (a.events[i].id != b.events[i].id || a.events[i].data != b.events[i].data) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 32;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto whole = decode(input, input.size() + 1);
  const auto pieces = decode(input, chunk);
  // Also a refusal (a line over the limit) comes at the same line, after the same events.
  FUZZ_CHECK(same(whole, pieces));

  // Round trip: the input up to its first NUL is the id (one line), the rest the data.
  const auto split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const auto id = input.substr(0, split);
  const auto body = input.substr(split + 1);
  // The encoder is for what Sluice writes: ids are single lines, data is JSON (never a
  // raw CR). An empty data with an empty id is no event at all.
  if (id.find_first_of("\r\n") != std::string_view::npos || body.find('\r') != std::string_view::npos) return 0;
  if (id.empty() && body.empty()) return 0;
  SseDecoder decoder(input.size() + 16);
  FUZZ_CHECK(decoder.feed(sluice::mcp::encode_sse_event(id, body)));
  SseDecoder::Event event;
  FUZZ_CHECK(decoder.next(event));
  FUZZ_CHECK(event.id == id && event.data == body);
  FUZZ_CHECK(!decoder.next(event));
  return 0;
}
