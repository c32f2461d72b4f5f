#include "mcp/digest.h"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "mcp/json_parser.h"

namespace sluice::mcp {
namespace {

using json = nlohmann::json;

// What nlohmann's dump(-1, ' ', false, replace) writes, a run of plain bytes at a time
// rather than one byte through its UTF-8 decoder each: a call's arguments of 1 MiB
// cost 40 instructions a byte that way. What is out of the ordinary (doubles, text that
// is not UTF-8, binary values) is left to nlohmann itself, so the text stays its.
void write_json_string(std::string& out, const std::string& text) {
  if (!is_well_formed_utf8(text)) {
    out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* run = text.data();
  const char* const end = run + text.size();
  for (const char* at = run; at != end; ++at) {
    at += plain_json_run(std::string_view(at, static_cast<std::size_t>(end - at)));
    if (at == end) break;
    const auto byte = static_cast<unsigned char>(*at);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(run, at);
    run = at + 1;
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[byte >> 4];
        out += hex[byte & 0xF];
    }
  }
  out.append(run, end);
  out += '"';
}

void write_json(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        write_json_string(out, key);
        out += ':';
        write_json(out, member);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        write_json(out, element);
      }
      out += ']';
      return;
    }
    case json::value_t::string: write_json_string(out, value.get_ref<const std::string&>()); return;
    case json::value_t::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case json::value_t::null: out += "null"; return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      char digits[24];
      const auto end = value.is_number_unsigned()
                           ? std::to_chars(digits, digits + sizeof digits, value.get<std::uint64_t>())
                           : std::to_chars(digits, digits + sizeof digits, value.get<std::int64_t>());
      out.append(digits, end.ptr);
      return;
    }
    default: out += value.dump(-1, ' ', false, json::error_handler_t::replace); return;
  }
}

}  // namespace

std::string canonical_json(const nlohmann::json& value) {
  std::string out;
  write_json(out, value);
  return out;
}

std::string sha256(std::string_view bytes) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again on every
  // call, which was a third of the cost of hashing a call's arguments.
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  // And a context per thread, reused: making and freeing one per digest cost as much
  // as hashing a small call's arguments.
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                      &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (algorithm == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), algorithm, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1) {
    throw std::runtime_error("SHA-256 failed in OpenSSL");
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::string hmac_sha256(std::string_view key, std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), mac.data(), mac.size(),
                &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = digits[c >> 4];
    out[2 * i + 1] = digits[c & 0xf];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = digit(hex[i]);
    const int low = digit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips whitespace and ignores what follows padding, so the text
  // is checked first: only the canonical form of each value is accepted.
  if (text.size() % 4 != 0) return std::nullopt;
  const auto is_digit = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  };
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 >= text.size()) {
      ++padding;
    } else if (padding > 0 || !is_digit(text[i])) {
      return std::nullopt;
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(length) - padding);
  if (base64_encode(out) != text) return std::nullopt;  // stray bits in the last digit
  return out;
}

}  // namespace sluice::mcp
