// Shell-style name patterns as operators write them in sluice.yaml: `*` matches any
// run of characters, `?` any one character, everything else itself.
#pragma once

#include <string>
#include <string_view>

namespace sluice::policy {

class Glob {
 public:
  explicit Glob(std::string pattern) : pattern_(std::move(pattern)) {}
  [[nodiscard]] bool matches(std::string_view text) const;
  [[nodiscard]] const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
};

}  // namespace sluice::policy
