#include "webui/session_store.h"

#include <algorithm>

#include "mcp/random_id.h"

namespace sluice::webui {

const UiSession& SessionStore::create(std::string user, std::vector<std::string> roles, Clock::time_point now) {
  while (!sessions_.empty() && sessions_.size() >= limits_.max_sessions) {
    const auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    sessions_.erase(oldest);
  }
  UiSession session{mcp::random_hex(16), mcp::random_hex(16), std::move(user), std::move(roles), now, now};
  auto id = session.id;
  return sessions_.insert_or_assign(std::move(id), std::move(session)).first->second;
}

const UiSession* SessionStore::find(std::string_view id, Clock::time_point now) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  auto& session = it->second;
  if (now - session.last_seen > limits_.idle || now - session.created > limits_.absolute) {
    sessions_.erase(it);
    return nullptr;
  }
  session.last_seen = now;
  return &session;
}

void SessionStore::remove(std::string_view id) {
  const auto it = sessions_.find(id);
  if (it != sessions_.end()) sessions_.erase(it);
}

}  // namespace sluice::webui
