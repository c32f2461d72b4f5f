#include "audit/merkle.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "audit/hash_chain.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

// The leaves of RFC 6962's reference tests (Certificate Transparency's
// merkle_tree_test), with the tree heads for each prefix of them.
const std::vector<std::string> reference_leaves = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
const std::vector<std::string> reference_roots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// The tree head by the definition (RFC 6962 section 2.1), recursively.
std::string definition_root(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return leaves[begin];
  std::size_t split = 1;
  while (split * 2 < end - begin) split *= 2;
  return node_hash(definition_root(leaves, begin, begin + split), definition_root(leaves, begin + split, end));
}

TEST_CASE("the frontier gives RFC 6962's reference tree heads for every size") {
  MerkleFrontier frontier;
  for (std::size_t i = 0; i < reference_leaves.size(); ++i) {
    frontier.append(leaf_hash(reference_leaves[i]));
    INFO("size " << i + 1);
    REQUIRE(frontier.size() == i + 1);
    REQUIRE(mcp::to_hex(frontier.root()) == reference_roots[i]);
  }
}

TEST_CASE("the frontier agrees with the recursive definition up to a few hundred leaves") {
  std::vector<std::string> leaves;
  MerkleFrontier frontier;
  for (int i = 0; i < 300; ++i) {
    leaves.push_back(leaf_hash("row " + std::to_string(i)));
    frontier.append(leaves.back());
    INFO("size " << leaves.size());
    REQUIRE(frontier.root() == definition_root(leaves, 0, leaves.size()));
  }
}

TEST_CASE("the empty tree's head is the hash of nothing") {
  REQUIRE(mcp::to_hex(MerkleFrontier{}.root()) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace sluice::audit
