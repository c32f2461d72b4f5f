#include "webui/login_throttle.h"

#include <algorithm>

namespace sluice::webui {

std::chrono::seconds LoginThrottle::wait(std::string_view account, Clock::time_point now) const {
  const auto it = accounts_.find(account);
  if (it == accounts_.end() || it->second.blocked_until <= now) return std::chrono::seconds(0);
  // Rounded up: a client told "0" would retry at once and be refused again.
  return std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now);
}

void LoginThrottle::failed(std::string_view account, Clock::time_point now) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) {
    if (accounts_.size() >= limits_.max_accounts) {
      // Forget the account whose block ends first: the least useful to keep.
      accounts_.erase(std::min_element(accounts_.begin(), accounts_.end(), [](const auto& a, const auto& b) {
        return a.second.blocked_until < b.second.blocked_until;
      }));
    }
    it = accounts_.emplace(std::string(account), Failures{}).first;
  }
  auto& failures = it->second;
  ++failures.count;
  const int over = failures.count - limits_.free_failures;
  if (over < 0) return;
  auto delay = limits_.first_delay;
  for (int i = 0; i < over && delay < limits_.max_delay; ++i) delay *= 2;
  failures.blocked_until = now + std::min(delay, limits_.max_delay);
}

void LoginThrottle::succeeded(std::string_view account) {
  const auto it = accounts_.find(account);
  if (it != accounts_.end()) accounts_.erase(it);
}

}  // namespace sluice::webui
