#include <catch2/catch.hpp>

#include "webui/password.h"

using namespace sluice::webui;

namespace {
// 1 MiB of scrypt memory: fast enough for a unit test, same code path as the default.
constexpr ScryptParameters quick{10, 8, 1};
}  // namespace

TEST_CASE("a password hash verifies the password it was made from and no other") {
  const auto text = hash_password("correct horse battery staple", quick);
  REQUIRE(text.starts_with("scrypt$ln=10,r=8,p=1$"));
  const auto hash = PasswordHash::parse(text);
  CHECK(hash.salt.size() == 16);
  CHECK(hash.key.size() == 32);
  CHECK(verify_password("correct horse battery staple", hash));
  CHECK_FALSE(verify_password("correct horse battery stapl", hash));
  CHECK_FALSE(verify_password("", hash));
  CHECK(hash.to_string() == text);
}

TEST_CASE("two hashes of one password differ, because each has its own salt") {
  const auto first = hash_password("pw", quick);
  const auto second = hash_password("pw", quick);
  CHECK(first != second);
  CHECK(verify_password("pw", PasswordHash::parse(second)));
}

TEST_CASE("the default parameters are OWASP's scrypt minimum") {
  const ScryptParameters defaults;
  CHECK(defaults.log2_n == 17);
  CHECK(defaults.r == 8);
  CHECK(defaults.p == 1);
}

TEST_CASE("a known scrypt vector (RFC 7914, N=1024 r=8 p=16) matches OpenSSL's KDF through our format") {
  // RFC 7914 section 12: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64; we keep
  // the first 32 bytes of the derived key, which scrypt computes identically.
  PasswordHash hash;
  hash.parameters = {10, 8, 16};
  hash.salt = "NaCl";
  const unsigned char expected[] = {0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7,
                                    0x19, 0x0d, 0x01, 0xe9, 0xfe, 0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23,
                                    0x78, 0x30, 0xe7, 0x73, 0x76, 0x63, 0x4b, 0x37, 0x31, 0x62};
  hash.key.assign(reinterpret_cast<const char*>(expected), sizeof expected);
  CHECK(verify_password("password", hash));
}

TEST_CASE("malformed hashes are refused with a reason") {
  const auto good = hash_password("pw", quick);
  const auto salt_and_key = good.substr(good.find("$", 7));
  SECTION("another scheme") { CHECK_THROWS_WITH(PasswordHash::parse("pbkdf2$x$y$z"), Catch::Contains("scrypt$")); }
  SECTION("missing fields") { CHECK_THROWS_AS(PasswordHash::parse("scrypt$ln=10,r=8,p=1$abc"), PasswordFormatError); }
  SECTION("a missing parameter") { CHECK_THROWS_WITH(PasswordHash::parse("scrypt$ln=10,r=8" + salt_and_key), Catch::Contains("ln, r and p")); }
  SECTION("a repeated parameter") { CHECK_THROWS_AS(PasswordHash::parse("scrypt$ln=10,ln=10,r=8,p=1" + salt_and_key), PasswordFormatError); }
  SECTION("not a number") { CHECK_THROWS_WITH(PasswordHash::parse("scrypt$ln=x,r=8,p=1" + salt_and_key), Catch::Contains("whole number")); }
  SECTION("too much memory") { CHECK_THROWS_WITH(PasswordHash::parse("scrypt$ln=24,r=8,p=1" + salt_and_key), Catch::Contains("1 GiB")); }
  SECTION("too little memory") { CHECK_THROWS_AS(PasswordHash::parse("scrypt$ln=4,r=8,p=1" + salt_and_key), PasswordFormatError); }
  SECTION("bad base64") { CHECK_THROWS_WITH(PasswordHash::parse("scrypt$ln=10,r=8,p=1$!!!!$" + good.substr(good.rfind('$') + 1)), Catch::Contains("salt")); }
  SECTION("a short key") { CHECK_THROWS_WITH(PasswordHash::parse(good.substr(0, good.size() - 4)), Catch::Contains("32 bytes")); }
  SECTION("an extra field") { CHECK_THROWS_AS(PasswordHash::parse(good + "$x"), PasswordFormatError); }
}

TEST_CASE("base64 round-trips every length and has one encoding per byte string") {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const auto encoded = base64_encode(bytes);
    CHECK(encoded.find('=') == std::string::npos);
    CHECK(base64_decode(encoded) == bytes);
    bytes += static_cast<char>(i * 37);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8");
  CHECK(base64_decode("Zm8") == std::string("fo"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("Zm9v") == std::string("foo"));
  CHECK_FALSE(base64_decode("Zm9").has_value());  // non-zero leftover bits: not the encoding of "fo"
  CHECK_FALSE(base64_decode("Zm-").has_value());
  CHECK_FALSE(base64_decode("Z").has_value());
}
