#include "audit/hash_chain.h"

#include "mcp/digest.h"

namespace sluice::audit {

std::string leaf_hash(std::string_view record) {
  std::string input(1, '\0');
  input.append(record);
  return mcp::sha256(input);
}

std::string chain_hash(std::string_view previous_chain, std::string_view leaf) {
  std::string input(previous_chain);
  input.append(leaf);
  return mcp::sha256(input);
}

std::string genesis_chain() { return std::string(32, '\0'); }

}  // namespace sluice::audit
