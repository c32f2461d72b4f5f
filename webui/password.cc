#include "webui/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <memory>

namespace sluice::webui {
namespace {

constexpr std::string_view prefix = "scrypt$";
constexpr std::size_t salt_bytes = 16;
constexpr std::size_t key_bytes = 32;
constexpr std::uint64_t min_memory = std::uint64_t{1} << 20;
constexpr std::uint64_t max_memory = std::uint64_t{1} << 30;
constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::uint64_t memory_needed(const ScryptParameters& parameters) {
  return std::uint64_t{128} * static_cast<std::uint64_t>(parameters.r) * (std::uint64_t{1} << parameters.log2_n);
}

std::string derive(std::string_view password, std::string_view salt, const ScryptParameters& parameters) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr), &EVP_KDF_free);
  if (!kdf) throw std::runtime_error("OpenSSL has no SCRYPT key derivation");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> context(EVP_KDF_CTX_new(kdf.get()), &EVP_KDF_CTX_free);
  if (!context) throw std::runtime_error("EVP_KDF_CTX_new failed");
  std::uint64_t n = std::uint64_t{1} << parameters.log2_n;
  auto r = static_cast<std::uint32_t>(parameters.r);
  auto p = static_cast<std::uint32_t>(parameters.p);
  // OpenSSL refuses more than 32 MiB unless told; the parameters were bounded by parse().
  std::uint64_t maxmem = memory_needed(parameters) * 2 + (std::uint64_t{1} << 20);
  std::string password_copy(password);
  std::string salt_copy(salt);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, password_copy.data(), password_copy.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy.data(), salt_copy.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::string key(key_bytes, '\0');
  const int ok = EVP_KDF_derive(context.get(), reinterpret_cast<unsigned char*>(key.data()), key.size(), params);
  OPENSSL_cleanse(password_copy.data(), password_copy.size());
  if (ok != 1) throw std::runtime_error("scrypt key derivation failed");
  return key;
}

void check(const ScryptParameters& parameters) {
  if (parameters.log2_n < 1 || parameters.log2_n > 30 || parameters.r < 1 || parameters.r > 64 || parameters.p < 1 ||
      parameters.p > 16) {
    throw PasswordFormatError("scrypt parameters out of range (ln 1..30, r 1..64, p 1..16)");
  }
  const auto memory = memory_needed(parameters);
  if (memory < min_memory || memory > max_memory) {
    throw PasswordFormatError("scrypt parameters must need between 1 MiB and 1 GiB of memory (128 * r * 2^ln bytes)");
  }
}

int parse_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw PasswordFormatError("expected a whole number for " + std::string(what) + ", got \"" + std::string(text) + "\"");
  }
  return value;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto index = alphabet.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

PasswordHash PasswordHash::parse(std::string_view text) {
  if (!text.starts_with(prefix)) throw PasswordFormatError("expected a hash that starts with \"scrypt$\" (made by `sluice passwd`)");
  text.remove_prefix(prefix.size());
  const auto first = text.find('$');
  const auto second = first == std::string_view::npos ? first : text.find('$', first + 1);
  if (second == std::string_view::npos || text.find('$', second + 1) != std::string_view::npos) {
    throw PasswordFormatError("expected scrypt$ln=N,r=R,p=P$SALT$KEY");
  }
  PasswordHash hash;
  const auto parameters = text.substr(0, first);
  bool seen_ln = false, seen_r = false, seen_p = false;
  std::size_t start = 0;
  while (start <= parameters.size()) {
    auto end = parameters.find(',', start);
    if (end == std::string_view::npos) end = parameters.size();
    const auto field = parameters.substr(start, end - start);
    const auto equals = field.find('=');
    if (equals == std::string_view::npos) throw PasswordFormatError("expected name=value in \"" + std::string(field) + "\"");
    const auto name = field.substr(0, equals);
    const auto value = field.substr(equals + 1);
    if (name == "ln" && !seen_ln) {
      hash.parameters.log2_n = parse_int(value, "ln");
      seen_ln = true;
    } else if (name == "r" && !seen_r) {
      hash.parameters.r = parse_int(value, "r");
      seen_r = true;
    } else if (name == "p" && !seen_p) {
      hash.parameters.p = parse_int(value, "p");
      seen_p = true;
    } else {
      throw PasswordFormatError("unexpected or repeated scrypt parameter \"" + std::string(name) + "\"");
    }
    start = end + 1;
  }
  if (!seen_ln || !seen_r || !seen_p) throw PasswordFormatError("expected the parameters ln, r and p");
  check(hash.parameters);
  auto salt = base64_decode(text.substr(first + 1, second - first - 1));
  auto key = base64_decode(text.substr(second + 1));
  if (!salt || salt->size() < 8 || salt->size() > 64) throw PasswordFormatError("the salt must be 8 to 64 bytes of base64");
  if (!key || key->size() != key_bytes) throw PasswordFormatError("the key must be 32 bytes of base64");
  hash.salt = std::move(*salt);
  hash.key = std::move(*key);
  return hash;
}

std::string PasswordHash::to_string() const {
  return std::string(prefix) + "ln=" + std::to_string(parameters.log2_n) + ",r=" + std::to_string(parameters.r) +
         ",p=" + std::to_string(parameters.p) + "$" + base64_encode(salt) + "$" + base64_encode(key);
}

std::string hash_password(std::string_view password, ScryptParameters parameters) {
  check(parameters);
  PasswordHash hash;
  hash.parameters = parameters;
  hash.salt.resize(salt_bytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(hash.salt.data()), static_cast<int>(hash.salt.size())) != 1) {
    throw std::runtime_error("no random bytes for the salt");
  }
  hash.key = derive(password, hash.salt, parameters);
  return hash.to_string();
}

bool verify_password(std::string_view password, const PasswordHash& hash) {
  const auto key = derive(password, hash.salt, hash.parameters);
  return key.size() == hash.key.size() && CRYPTO_memcmp(key.data(), hash.key.data(), key.size()) == 0;
}

}  // namespace sluice::webui
