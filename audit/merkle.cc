#include "audit/merkle.h"

#include "mcp/digest.h"

namespace sluice::audit {

std::string node_hash(std::string_view left, std::string_view right) {
  std::string input;
  input.reserve(1 + left.size() + right.size());
  input += '\x01';
  input += left;
  input += right;
  return mcp::sha256(input);
}

void MerkleFrontier::append(std::string_view leaf) {
  std::string carry(leaf);
  // Each trailing set bit of the old size is a subtree as large as the one being
  // carried: merge them, like a binary increment.
  for (auto bits = size_; (bits & 1) != 0; bits >>= 1) {
    carry = node_hash(subtrees_.back(), carry);
    subtrees_.pop_back();
  }
  subtrees_.push_back(std::move(carry));
  ++size_;
}

std::string MerkleFrontier::root() const {
  if (subtrees_.empty()) return mcp::sha256("");
  // RFC 6962 splits at the largest power of two below n, so the right-hand subtrees
  // fold first: MTH = H(s0 || H(s1 || ... H(s_{k-1} || s_k))).
  auto root = subtrees_.back();
  for (auto it = subtrees_.rbegin() + 1; it != subtrees_.rend(); ++it) root = node_hash(*it, root);
  return root;
}

}  // namespace sluice::audit
