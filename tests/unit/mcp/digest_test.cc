#include "mcp/digest.h"

#include <catch2/catch.hpp>

namespace sluice::mcp {
namespace {

TEST_CASE("HMAC-SHA256 is the RFC 4231 function") {
  // RFC 4231, test case 2.
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256("key one", "text") != hmac_sha256("key two", "text"));
  CHECK(hmac_sha256("key", "text").size() == 32);
}

}  // namespace
}  // namespace sluice::mcp
