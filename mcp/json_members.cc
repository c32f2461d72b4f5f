#include "mcp/json_members.h"

#include <cstring>

namespace sluice::mcp {
namespace {

constexpr auto npos = std::string_view::npos;

std::size_t skip_space(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_json_space(text[pos])) ++pos;
  return pos;
}

// Past the closing quote of the string whose opening quote is at `pos`; npos if it
// does not end. A quote closes it unless an odd run of backslashes comes before it.
std::size_t string_end(std::string_view text, std::size_t pos) {
  for (std::size_t from = pos + 1; from < text.size();) {
    const void* found = std::memchr(text.data() + from, '"', text.size() - from);
    if (found == nullptr) return npos;
    const auto quote = static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
    std::size_t backslashes = 0;
    while (quote - backslashes > pos + 1 && text[quote - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    from = quote + 1;
  }
  return npos;
}

// Past the value that starts at `pos`; npos if it does not end.
std::size_t value_end(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return npos;
  const char first = text[pos];
  if (first == '"') return string_end(text, pos);
  if (first != '{' && first != '[') {
    while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' && !is_json_space(text[pos])) ++pos;
    return pos;
  }
  std::size_t depth = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"') {
      pos = string_end(text, pos);
      if (pos == npos) return npos;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return pos + 1;
    }
    ++pos;
  }
  return npos;
}

}  // namespace

std::optional<std::vector<JsonMember>> object_members(std::string_view text) {
  std::vector<JsonMember> members;
  auto pos = skip_space(text, 0);
  if (pos >= text.size() || text[pos] != '{') return std::nullopt;
  pos = skip_space(text, pos + 1);
  if (pos < text.size() && text[pos] == '}') {
    return skip_space(text, pos + 1) == text.size() ? std::optional(members) : std::nullopt;
  }
  while (true) {
    if (pos >= text.size() || text[pos] != '"') return std::nullopt;
    const auto key_end = string_end(text, pos);
    if (key_end == npos) return std::nullopt;
    const auto key = text.substr(pos + 1, key_end - pos - 2);
    if (key.find('\\') != npos) return std::nullopt;
    pos = skip_space(text, key_end);
    if (pos >= text.size() || text[pos] != ':') return std::nullopt;
    pos = skip_space(text, pos + 1);
    const auto end = value_end(text, pos);
    if (end == npos || end == pos) return std::nullopt;
    members.push_back(JsonMember{key, text.substr(pos, end - pos)});
    pos = skip_space(text, end);
    if (pos >= text.size()) return std::nullopt;
    if (text[pos] == '}') break;
    if (text[pos] != ',') return std::nullopt;
    pos = skip_space(text, pos + 1);
  }
  if (skip_space(text, pos + 1) != text.size()) return std::nullopt;
  return members;
}

std::optional<std::string_view> member_value(const std::vector<JsonMember>& members, std::string_view key) {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->key == key) return it->value;
  }
  return std::nullopt;
}

}  // namespace sluice::mcp
