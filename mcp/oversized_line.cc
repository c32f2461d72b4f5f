#include "mcp/oversized_line.h"

#include <string_view>

#include "mcp/json_members.h"

namespace sluice::mcp {
namespace {

using nlohmann::json;

// An id as JSON-RPC allows it: a number or a string; nullopt for anything else.
std::optional<json> id_value(std::string_view text) {
  auto value = json::parse(text, nullptr, false);
  if (value.is_discarded() || !(value.is_number() || value.is_string())) return std::nullopt;
  return value;
}

// Reads the top-level members at the start of the line while they are small.
class HeadReader {
 public:
  explicit HeadReader(std::string_view text) : text_(text) {}

  // The string starting at the cursor (a key or a value), without its quotes.
  std::optional<std::string_view> string() {
    skip_space();
    if (at_end() || text_[pos_] != '"') return std::nullopt;
    const auto start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    if (pos_ >= text_.size()) return std::nullopt;
    return text_.substr(start, pos_++ - start);
  }
  // A scalar value starting at the cursor (number or string), as written.
  std::optional<std::string_view> scalar() {
    skip_space();
    const auto start = pos_;
    if (!at_end() && text_[pos_] == '"') {
      if (!string()) return std::nullopt;
    } else {
      while (pos_ < text_.size() && std::string_view(",} \t\r\n").find(text_[pos_]) == std::string_view::npos) ++pos_;
      if (pos_ >= text_.size()) return std::nullopt;  // it may go on beyond the head
    }
    return text_.substr(start, pos_ - start);
  }
  bool take(char c) {
    skip_space();
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && is_json_space(text_[pos_])) ++pos_;
  }
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The id of `..."id":ID}` at the very end of the line.
std::optional<json> trailing_id(std::string_view tail) {
  while (!tail.empty() && is_json_space(tail.back())) tail.remove_suffix(1);
  if (tail.empty() || tail.back() != '}') return std::nullopt;
  tail.remove_suffix(1);
  while (!tail.empty() && is_json_space(tail.back())) tail.remove_suffix(1);
  std::size_t start = tail.size();
  if (!tail.empty() && tail.back() == '"') {
    // Back to the opening quote: one not escaped by an odd run of backslashes.
    for (start = tail.size() - 1; start > 0;) {
      start = tail.rfind('"', start - 1);
      if (start == std::string_view::npos) return std::nullopt;
      std::size_t backslashes = 0;
      while (start > backslashes && tail[start - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) break;
    }
  } else {
    while (start > 0 && std::string_view("-+.0123456789eE").find(tail[start - 1]) != std::string_view::npos) --start;
  }
  auto id = id_value(tail.substr(start));
  auto before = tail.substr(0, start);
  while (!before.empty() && is_json_space(before.back())) before.remove_suffix(1);
  if (!before.ends_with(':')) return std::nullopt;
  before.remove_suffix(1);
  while (!before.empty() && is_json_space(before.back())) before.remove_suffix(1);
  if (!before.ends_with("\"id\"")) return std::nullopt;
  before.remove_suffix(4);
  while (!before.empty() && is_json_space(before.back())) before.remove_suffix(1);
  if (!before.ends_with(',')) return std::nullopt;
  return id;
}

}  // namespace

std::optional<json> response_id_of_oversized(const Frame& frame) {
  if (frame.kind != Frame::Kind::oversized) return std::nullopt;
  HeadReader head(frame.head);
  if (!head.take('{')) return std::nullopt;
  std::optional<json> id;
  for (;;) {
    const auto key = head.string();
    if (!key || !head.take(':')) return std::nullopt;
    if (*key == "result" || *key == "error") break;
    if (*key != "jsonrpc" && *key != "id") return std::nullopt;  // "method": not a response
    const auto value = head.scalar();
    if (!value) return std::nullopt;
    if (*key == "id") id = id_value(*value);
    if (!head.take(',')) return std::nullopt;
  }
  if (id) return id;
  return trailing_id(frame.tail);
}

}  // namespace sluice::mcp
