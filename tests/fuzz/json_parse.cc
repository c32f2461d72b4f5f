// The message path's JSON parser (mcp/json_parser.h) against nlohmann's, the parser it
// stands in for on every message Sluice reads: a difference between the two is a text
// the policy would see one way and an upstream another, or a crash nlohmann never had.
// Invariants: a text within the depth limit that nlohmann refuses is refused, and one it
// accepts is accepted — unless it holds a NUL byte, which nlohmann reads as the end of
// the input (a C string's) and RFC 8259 does not allow outside a string or in one; what
// both accept is the same value, and canonical_json writes it as nlohmann's dump does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcp/digest.h"
#include "mcp/json_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int max_depth = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json ours;
  const auto fault = sluice::mcp::parse_json(text, max_depth, ours);
  // Too deep is refused before the rest is read, so there is nothing to compare.
  if (fault == sluice::mcp::JsonFault::too_deep) return 0;
  const auto theirs = nlohmann::json::parse(text, nullptr, false);
  if (fault != sluice::mcp::JsonFault::none) {
    FUZZ_CHECK(theirs.is_discarded() || text.find('\0') != std::string_view::npos);
    return 0;
  }
  FUZZ_CHECK(!theirs.is_discarded());
  FUZZ_CHECK(ours == theirs);
  FUZZ_CHECK(sluice::mcp::canonical_json(ours) == theirs.dump());
  return 0;
}
