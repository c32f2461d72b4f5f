// The members of a JSON object's text, each as its key and the raw text of its value,
// found in one pass over the bytes without building the document. For text that was
// parsed once already (what the proxy relays): a second full parse of a large message
// only to read its id or method costs as much as the first, where this skips the
// bulk of each value with memchr.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace sluice::mcp {

// JSON's whitespace (RFC 8259): space, tab, carriage return, line feed.
inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct JsonMember {
  std::string_view key;    // without its quotes, as written (never with an escape)
  std::string_view value;  // the value's text, without surrounding whitespace
};

// The members of the object `text` holds, in order. nullopt when `text` is not one
// object, a key carries an escape (it would have to be decoded to be compared), or
// the text ends early. It checks structure only, not JSON's grammar: a value's text
// is what lies between its delimiters.
std::optional<std::vector<JsonMember>> object_members(std::string_view text);

// The value of `key` among `members`: the last one, as nlohmann's parse keeps it.
std::optional<std::string_view> member_value(const std::vector<JsonMember>& members, std::string_view key);

}  // namespace sluice::mcp
