// Throttles password guessing per account (not per address: an attacker has many):
// after `free_failures` failed logins the account refuses attempts for a delay that
// doubles with every further failure, up to `max_delay`. A success clears it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "webui/session_store.h"

namespace sluice::webui {

struct ThrottleLimits {
  int free_failures = 5;
  std::chrono::seconds first_delay{1};
  std::chrono::seconds max_delay{std::chrono::minutes(15)};
  std::size_t max_accounts = 10000;  // names tried, known or not
};

class LoginThrottle {
 public:
  explicit LoginThrottle(ThrottleLimits limits = {}) : limits_(limits) {}

  // How long `account` must still wait before a login is even checked; zero if not.
  [[nodiscard]] std::chrono::seconds wait(std::string_view account, Clock::time_point now) const;
  void failed(std::string_view account, Clock::time_point now);
  void succeeded(std::string_view account);

 private:
  struct Failures {
    int count = 0;
    Clock::time_point blocked_until;
  };
  ThrottleLimits limits_;
  std::map<std::string, Failures, std::less<>> accounts_;
};

}  // namespace sluice::webui
