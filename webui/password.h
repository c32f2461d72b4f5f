// Password hashes for the web UI's users: salted scrypt through OpenSSL 3's EVP_KDF.
// The stored form, which `sluice passwd` prints and ui.users[].password holds, is
//   scrypt$ln=17,r=8,p=1$<salt>$<key>
// with N = 2^ln, salt (16 bytes) and key (32 bytes) in unpadded standard base64.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::webui {

class PasswordFormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ScryptParameters {
  int log2_n = 17;  // N = 2^17, r = 8, p = 1: OWASP's scrypt minimum; 128 MiB, about 0.5 s
  int r = 8;
  int p = 1;
};

struct PasswordHash {
  ScryptParameters parameters;
  std::string salt;  // raw bytes
  std::string key;   // raw bytes

  // Throws PasswordFormatError saying what is wrong with `text`; refuses parameters
  // that would take more than 1 GiB or less than 1 MiB of memory.
  static PasswordHash parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

// A new hash of `password` with a fresh random salt. Blocks for the KDF's time.
std::string hash_password(std::string_view password, ScryptParameters parameters = {});

// Whether `password` matches `hash`, compared in constant time. Blocks for the KDF's
// time, so a server calls it off its event loop.
bool verify_password(std::string_view password, const PasswordHash& hash);

std::string base64_encode(std::string_view bytes);           // unpadded
std::optional<std::string> base64_decode(std::string_view text);  // unpadded or padded

}  // namespace sluice::webui
