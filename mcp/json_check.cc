#include "mcp/json_check.h"

#include <cstddef>

namespace sluice::mcp {
namespace {

constexpr std::size_t max_number_chars = 300;  // under 1e300: no double overflows

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Recursive descent over the grammar of RFC 8259; the depth limit bounds the recursion.
class Checker {
 public:
  Checker(std::string_view text, int max_depth) : text_(text), depth_left_(max_depth) {}

  bool document() {
    if (!value()) return false;
    skip_space();
    return pos_ == text_.size();
  }

 private:
  bool value() {
    skip_space();
    if (pos_ >= text_.size()) return false;
    switch (text_[pos_]) {
      case '{': return container('}');
      case '[': return container(']');
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  // An object (members `"key": value`) or an array, from its opening bracket.
  bool container(char close) {
    if (--depth_left_ < 0) return false;
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      ++depth_left_;
      return true;
    }
    while (true) {
      if (close == '}') {
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != '"' || !string()) return false;
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != ':') return false;
        ++pos_;
      }
      if (!value()) return false;
      skip_space();
      if (pos_ >= text_.size()) return false;
      if (text_[pos_] == close) {
        ++pos_;
        ++depth_left_;
        return true;
      }
      if (text_[pos_] != ',') return false;
      ++pos_;
    }
  }

  bool string() {
    ++pos_;
    while (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') {
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) return false;
      const char escape = text_[pos_ + 1];
      if (escape == 'u') {
        if (pos_ + 6 > text_.size()) return false;
        int code = 0;
        for (std::size_t i = pos_ + 2; i < pos_ + 6; ++i) {
          const int digit = hex_value(text_[i]);
          if (digit < 0) return false;
          code = code * 16 + digit;
        }
        if (code == 0 || (code >= 0xD800 && code <= 0xDFFF)) return false;
        pos_ += 6;
        continue;
      }
      if (std::string_view("\"\\/bfnrt").find(escape) == std::string_view::npos) return false;
      pos_ += 2;
    }
    return false;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool number() {
    const auto start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) return false;
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (pos_ >= text_.size() || !is_digit(text_[pos_])) return false;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) return false;
    return pos_ - start <= max_number_chars;
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_left_;
};

}  // namespace

bool plainly_valid_json(std::string_view text, int max_depth) { return Checker(text, max_depth).document(); }

}  // namespace sluice::mcp
