#include "policy/glob.h"

namespace sluice::policy {

// Linear-time wildcard matching: on a mismatch after a `*`, let the star absorb one
// more character and retry from there. No recursion, no backtracking blow-up.
bool Glob::matches(std::string_view text) const {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    // `*` first: a star in the pattern is a wildcard even where the text has a star.
    if (p < pattern_.size() && pattern_[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern_.size() && (pattern_[p] == '?' || pattern_[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern_.size() && pattern_[p] == '*') ++p;
  return p == pattern_.size();
}

}  // namespace sluice::policy
