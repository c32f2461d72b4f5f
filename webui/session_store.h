// Logged-in web UI sessions: a 128-bit random id (the cookie), a CSRF token of the
// same strength, the user and roles, and idle and absolute timeouts. Bounded: past
// `max_sessions` the least recently used session is dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::webui {

using Clock = std::chrono::steady_clock;

struct UiSession {
  std::string id;
  std::string csrf_token;
  std::string user;
  std::vector<std::string> roles;
  Clock::time_point created;
  Clock::time_point last_seen;
};

struct SessionLimits {
  std::chrono::seconds idle{std::chrono::minutes(30)};
  std::chrono::seconds absolute{std::chrono::hours(12)};
  std::size_t max_sessions = 1000;
};

class SessionStore {
 public:
  explicit SessionStore(SessionLimits limits = {}) : limits_(limits) {}

  // A new session with fresh random id and token: a login never reuses an id.
  const UiSession& create(std::string user, std::vector<std::string> roles, Clock::time_point now);
  // The live session with this id, its idle clock restarted; nullptr when unknown or
  // timed out (and then forgotten).
  const UiSession* find(std::string_view id, Clock::time_point now);
  void remove(std::string_view id);
  [[nodiscard]] std::size_t size() const { return sessions_.size(); }

 private:
  SessionLimits limits_;
  std::map<std::string, UiSession, std::less<>> sessions_;
};

}  // namespace sluice::webui
