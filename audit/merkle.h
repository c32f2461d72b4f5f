// The RFC 6962 Merkle tree over the audit log's leaf hashes, kept as its frontier:
// the roots of the perfect subtrees that make up the log so far (at most 64), so that
// appending is O(1) amortised and the root of the whole log is O(log n). Signed
// checkpoints carry this root (c2sp.org/tlog-checkpoint).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::audit {

// SHA-256(0x01 || left || right).
std::string node_hash(std::string_view left, std::string_view right);

class MerkleFrontier {
 public:
  // `leaf` is a leaf hash (audit/hash_chain.h's leaf_hash), 32 raw bytes.
  void append(std::string_view leaf);
  [[nodiscard]] std::uint64_t size() const { return size_; }
  // The tree head of the leaves appended so far; SHA-256 of nothing when there are none.
  [[nodiscard]] std::string root() const;

 private:
  std::uint64_t size_ = 0;
  // Subtree roots, largest (leftmost) first; their sizes are the set bits of size_.
  std::vector<std::string> subtrees_;
};

}  // namespace sluice::audit
