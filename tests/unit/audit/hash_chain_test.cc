#include "audit/hash_chain.h"

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "mcp/digest.h"

namespace sluice::audit {
namespace {

// SHA-256 straight from OpenSSL's EVP interface, not through Sluice's digest code.
std::string openssl_sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string concat(std::string_view a, std::string_view b) {
  std::string out(a);
  out.append(b);
  return out;
}

TEST_CASE("a leaf is SHA-256 of a zero byte followed by the record") {
  SECTION("the empty record hashes to the known digest of a single 0x00 byte") {
    REQUIRE(mcp::to_hex(leaf_hash("")) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  }
  SECTION("a record agrees with an independent computation") {
    const std::string record = R"({"kind":"decision","seq":1,"time":"2024-01-01T00:00:00.000000Z"})";
    REQUIRE(leaf_hash(record) == openssl_sha256(concat(std::string(1, '\0'), record)));
  }
  SECTION("a record with bytes of every value, a NUL included, is hashed whole") {
    std::string record;
    for (int byte = 0; byte < 256; ++byte) record.push_back(static_cast<char>(byte));
    REQUIRE(leaf_hash(record) == openssl_sha256(concat(std::string(1, '\0'), record)));
  }
  SECTION("it is raw bytes, 32 of them") { REQUIRE(leaf_hash("x").size() == 32); }
  SECTION("it differs from the plain SHA-256 of the record (domain separation)") {
    REQUIRE(leaf_hash("x") != openssl_sha256("x"));
  }
}

TEST_CASE("a chain value is SHA-256 of the previous chain value followed by the leaf") {
  const auto leaf = leaf_hash("record one");
  const auto previous = openssl_sha256("anything");
  REQUIRE(chain_hash(previous, leaf) == openssl_sha256(concat(previous, leaf)));
  REQUIRE(chain_hash(previous, leaf).size() == 32);

  SECTION("the order of its inputs matters") { REQUIRE(chain_hash(leaf, previous) != chain_hash(previous, leaf)); }
}

TEST_CASE("the chain before the first record is 32 zero bytes") {
  REQUIRE(genesis_chain() == std::string(32, '\0'));

  SECTION("so the first record's chain value is SHA-256 of 32 zero bytes and its leaf") {
    const auto leaf = leaf_hash("first");
    REQUIRE(chain_hash(genesis_chain(), leaf) == openssl_sha256(concat(std::string(32, '\0'), leaf)));
  }
}

}  // namespace
}  // namespace sluice::audit
