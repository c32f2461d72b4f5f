#include "mcp/sse.h"

namespace sluice::mcp {

std::string encode_sse_event(std::string_view id, std::string_view data) {
  std::string event;
  event.reserve(data.size() + id.size() + 16);
  if (!id.empty()) {
    event += "id: ";
    event += id;
    event += '\n';
  }
  // A line break inside the data would end the field early; each line gets its own
  // `data:` field, and the client joins them with "\n" again.
  std::size_t start = 0;
  while (true) {
    const auto end = data.find('\n', start);
    event += "data: ";
    event += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    event += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  event += '\n';
  return event;
}

std::string_view sse_keepalive() { return ": keep-alive\n\n"; }

}  // namespace sluice::mcp
