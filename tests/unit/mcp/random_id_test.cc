#include "mcp/random_id.h"

#include <catch2/catch.hpp>

namespace sluice::mcp {
namespace {

TEST_CASE("random ids are 128 bits of hex and do not repeat") {
  const auto a = random_hex(16);
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != random_hex(16));
}

}  // namespace
}  // namespace sluice::mcp
