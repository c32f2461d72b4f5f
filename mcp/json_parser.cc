#include "mcp/json_parser.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace sluice::mcp {
namespace {

using json = nlohmann::json;

bool in(unsigned char byte, unsigned char low, unsigned char high) { return byte >= low && byte <= high; }

// The length of the well-formed UTF-8 sequence at `at` that starts with a byte over
// 0x7F; 0 if there is none.
std::size_t utf8_sequence(const char* at, const char* end) {
  const auto left = end - at;
  const auto byte = [&](std::ptrdiff_t i) { return static_cast<unsigned char>(at[i]); };
  const unsigned char lead = byte(0);
  if (in(lead, 0xC2, 0xDF)) return left >= 2 && in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(lead, 0xE0, 0xEF)) {
    if (left < 3) return 0;
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return in(byte(1), low, high) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(lead, 0xF0, 0xF4)) {
    if (left < 4) return 0;
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return in(byte(1), low, high) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

class Parser {
 public:
  Parser(std::string_view text, int max_depth)
      : at_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  JsonFault document(json& out) {
    if (end_ - at_ >= 3 && std::string_view(at_, 3) == "\xEF\xBB\xBF") at_ += 3;
    skip_whitespace();
    if (!value(out, 0)) return fault_;
    skip_whitespace();
    return at_ == end_ ? JsonFault::none : JsonFault::syntax;
  }

 private:
  bool fail(JsonFault fault = JsonFault::syntax) {
    fault_ = fault;
    return false;
  }

  void skip_whitespace() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word) {
      return fail();
    }
    at_ += word.size();
    return true;
  }

  bool value(json& out, int depth) {
    if (at_ == end_) return fail();
    switch (*at_) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string text;
        if (!string(text)) return false;
        out = std::move(text);
        return true;
      }
      case 't': out = true; return literal("true");
      case 'f': out = false; return literal("false");
      case 'n': out = nullptr; return literal("null");
      default: return number(out);
    }
  }

  // Consumes `c` if it comes next.
  bool take(char c) {
    if (at_ == end_ || *at_ != c) return false;
    ++at_;
    return true;
  }

  // The members or elements of a container, from past its opening bracket to past its
  // closing one; `item` reads one.
  template <typename Item>
  bool items(char close, const Item& item) {
    skip_whitespace();
    if (take(close)) return true;
    for (;;) {
      if (!item()) return false;
      skip_whitespace();
      if (take(close)) return true;
      if (!take(',')) return fail();
      skip_whitespace();
    }
  }

  bool object(json& out, int depth) {
    if (depth > max_depth_) return fail(JsonFault::too_deep);
    ++at_;
    out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    return items('}', [&] {
      if (at_ == end_ || *at_ != '"') return fail();
      std::string key;
      if (!string(key)) return false;
      skip_whitespace();
      if (!take(':')) return fail();
      skip_whitespace();
      // A repeated key keeps its last value, as in nlohmann (and JSON.parse).
      return value(members[std::move(key)], depth);
    });
  }

  bool array(json& out, int depth) {
    if (depth > max_depth_) return fail(JsonFault::too_deep);
    ++at_;
    out = json::array();
    auto& elements = out.get_ref<json::array_t&>();
    return items(']', [&] { return value(elements.emplace_back(), depth); });
  }

  bool hex4(std::uint32_t& unit) {
    if (end_ - at_ < 4) return false;
    unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *at_++;
      unit <<= 4;
      if (c >= '0' && c <= '9') {
        unit |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        unit |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        unit |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool escape(std::string& out) {
    if (at_ == end_) return fail();
    const char c = *at_++;
    switch (c) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: return fail();
    }
    std::uint32_t unit = 0;
    if (!hex4(unit)) return fail();
    if (unit >= 0xDC00 && unit <= 0xDFFF) return fail();  // a low surrogate alone
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      std::uint32_t low = 0;
      if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u') return fail();
      at_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return fail();
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, unit);
    return true;
  }

  // At the opening quote; leaves `at_` past the closing one.
  bool string(std::string& out) {
    ++at_;
    for (;;) {
      // A run of bytes that stand for themselves is copied at once.
      const char* run = at_;
      while (at_ != end_) {
        at_ += plain_json_run(std::string_view(at_, static_cast<std::size_t>(end_ - at_)));
        if (at_ == end_) break;
        const auto byte = static_cast<unsigned char>(*at_);
        if (byte == '"' || byte == '\\' || byte < 0x20) break;
        if (byte < 0x80) {
          ++at_;
          continue;
        }
        const std::size_t length = utf8_sequence(at_, end_);
        if (length == 0) return fail();
        at_ += length;
      }
      out.append(run, at_);
      if (at_ == end_) return fail();
      const char c = *at_++;
      if (c == '"') return true;
      if (c != '\\') return fail();  // a control character
      if (!escape(out)) return false;
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number(json& out) {
    const char* start = at_;
    if (at_ != end_ && *at_ == '-') ++at_;
    if (at_ == end_ || !digit(*at_)) return fail();
    if (*at_ == '0') {
      ++at_;
    } else {
      while (at_ != end_ && digit(*at_)) ++at_;
    }
    bool integer = true;
    if (at_ != end_ && *at_ == '.') {
      integer = false;
      ++at_;
      if (at_ == end_ || !digit(*at_)) return fail();
      while (at_ != end_ && digit(*at_)) ++at_;
    }
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      integer = false;
      ++at_;
      if (at_ != end_ && (*at_ == '+' || *at_ == '-')) ++at_;
      if (at_ == end_ || !digit(*at_)) return fail();
      while (at_ != end_ && digit(*at_)) ++at_;
    }
    if (integer) {
      if (*start == '-') {
        std::int64_t n = 0;
        if (std::from_chars(start, at_, n).ec == std::errc()) {
          out = n;
          return true;
        }
      } else {
        std::uint64_t n = 0;
        if (std::from_chars(start, at_, n).ec == std::errc()) {
          out = n;
          return true;
        }
      }
    }
    // Fractions, exponents and integers too large for 64 bits: nlohmann reads them
    // itself, so that every double is the one it would make (strtod, its rounding, its
    // infinities).
    out = json::parse(start, at_, nullptr, /*allow_exceptions=*/false);
    return !out.is_discarded() || fail();
  }

  const char* at_;
  const char* end_;
  int max_depth_;
  JsonFault fault_ = JsonFault::none;
};

}  // namespace

JsonFault parse_json(std::string_view text, int max_depth, nlohmann::json& out) {
  return Parser(text, max_depth).document(out);
}

std::size_t plain_json_run(std::string_view text) {
  constexpr std::uint64_t ones = 0x0101010101010101U;
  constexpr std::uint64_t highs = 0x8080808080808080U;
  // Bit tricks on a word of eight bytes (exact as a yes or no): any byte under n, for
  // n up to 128, and any byte equal to zero.
  const auto any_below = [](std::uint64_t word, std::uint64_t n) {
    return (word - ones * n) & ~word & highs;
  };
  const auto any_zero = [](std::uint64_t word) { return (word - ones) & ~word & highs; };
  std::size_t length = 0;
  while (text.size() - length >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + length, 8);
    if (((word & highs) | any_below(word, 0x20) | any_zero(word ^ (ones * '"')) |
         any_zero(word ^ (ones * '\\'))) != 0) {
      break;
    }
    length += 8;
  }
  while (length < text.size()) {
    const auto byte = static_cast<unsigned char>(text[length]);
    if (byte < 0x20 || byte >= 0x80 || byte == '"' || byte == '\\') break;
    ++length;
  }
  return length;
}

bool is_well_formed_utf8(std::string_view text) {
  const char* at = text.data();
  const char* const end = at + text.size();
  while (at != end) {
    if (end - at >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, at, 8);
      if ((word & 0x8080808080808080U) == 0) {  // eight ASCII bytes
        at += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(*at) < 0x80) {
      ++at;
      continue;
    }
    const std::size_t length = utf8_sequence(at, end);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

}  // namespace sluice::mcp
