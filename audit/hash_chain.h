// The hash chain over audit records, RFC 6962 style so that the leaves can also make
// a Merkle tree: leaf = SHA-256(0x00 || record), chain = SHA-256(previous chain || leaf),
// the chain before the first record being 32 zero bytes. Digests are raw bytes.
#pragma once

#include <string>
#include <string_view>

namespace sluice::audit {

std::string leaf_hash(std::string_view record);
std::string chain_hash(std::string_view previous_chain, std::string_view leaf);
std::string genesis_chain();

}  // namespace sluice::audit
