#include "mcp/sse.h"

#include <charconv>

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

bool SseDecoder::feed(std::string_view bytes) {
  while (!bytes.empty() && !over_limit_) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      partial_ += bytes;
      over_limit_ = partial_.size() > max_bytes_;
      break;
    }
    partial_ += bytes.substr(0, end);
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    over_limit_ = partial_.size() > max_bytes_ || !line(partial_);
    partial_.clear();
  }
  return !over_limit_;
}

bool SseDecoder::line(std::string_view text) {
  if (text.empty()) {
    if (has_data_ || !building_.id.empty()) ready_.push_back(std::move(building_));
    building_ = Event{};
    has_data_ = false;
    return true;
  }
  if (text.front() == ':') return true;
  const auto colon = text.find(':');
  const auto field = text.substr(0, colon);
  auto value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) building_.data += '\n';
    building_.data += value;
    has_data_ = true;
  } else if (field == "id") {
    building_.id = value;
  } else if (field == "retry") {
    std::uint64_t ms = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (error == std::errc() && end == value.data() + value.size() && !value.empty()) retry_ms_ = ms;
  }
  return building_.data.size() <= max_bytes_;
}

bool SseDecoder::next(Event& event) {
  if (ready_.empty()) return false;
  event = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

}  // namespace sluice::mcp
