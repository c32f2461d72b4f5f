// An ApprovalDesk held in memory, for the web UI's tests: the unit tests of UiServer
// and the browser tests' stand-in server (tests/e2e/ui_fixture_server.cc). It applies
// the same simple rules the proxy's queue does (four eyes, roles, quorum), without any
// persistence: the UI's behaviour, not the queue's, is under test.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "audit/sqlite_store.h"
#include "mcp/asio.h"
#include "mcp/digest.h"
#include "webui/approval_desk.h"

namespace sluice::test {

class MemoryDesk : public webui::ApprovalDesk {
 public:
  // Adds a pending request and tells the subscribers; returns its id.
  std::string hold(webui::ApprovalView view) {
    view.id = mcp::sha256_hex(std::to_string(++next_)).substr(0, 32);
    view.state = webui::ApprovalState::pending;
    if (view.created.empty()) view.created = audit::audit_time_now();
    if (view.expires.empty()) view.expires = view.created;
    requests_.push_back(view);
    notify(view);
    return view.id;
  }

  void set_state(const std::string& id, webui::ApprovalState state, std::string comment) {
    auto* view = lookup(id);
    if (view == nullptr) return;
    view->state = state;
    view->comment = std::move(comment);
    view->decided = audit::audit_time_now();
    notify(*view);
  }

  [[nodiscard]] std::vector<webui::ApprovalView> pending() const override {
    std::vector<webui::ApprovalView> out;
    for (const auto& view : requests_) {
      if (view.state == webui::ApprovalState::pending) out.push_back(view);
    }
    return out;
  }

  [[nodiscard]] std::vector<webui::ApprovalView> history(std::size_t limit) const override {
    std::vector<webui::ApprovalView> out;
    for (auto it = requests_.rbegin(); it != requests_.rend() && out.size() < limit; ++it) {
      if (it->state != webui::ApprovalState::pending) out.push_back(*it);
    }
    return out;
  }

  [[nodiscard]] std::optional<webui::ApprovalView> find(std::string_view id) const override {
    for (const auto& view : requests_) {
      if (view.id == id) return view;
    }
    return std::nullopt;
  }

  asio::awaitable<webui::DecideResult> decide(std::string id, webui::Approver approver, bool approve,
                                              std::string comment) override {
    co_return vote(id, approver, approve, comment);
  }

  std::uint64_t subscribe(std::function<void(const webui::ApprovalView&)> on_change) override {
    subscribers_.emplace(++next_subscriber_, std::move(on_change));
    return next_subscriber_;
  }
  void unsubscribe(std::uint64_t handle) override { subscribers_.erase(handle); }
  [[nodiscard]] std::size_t subscribers() const { return subscribers_.size(); }

  struct Decision {
    std::string id, approver;
    bool approve = false;
    std::string comment;
  };
  std::vector<Decision> decisions;

 private:
  // Outside the coroutine: GCC 12 mishandles temporaries and braced lists in coroutines.
  webui::DecideResult vote(const std::string& id, const webui::Approver& approver, bool approve,
                           const std::string& comment) {
    using webui::DecideError;
    decisions.push_back({id, approver.name, approve, comment});
    auto* view = lookup(id);
    if (view == nullptr) return {DecideError::not_found, "no such request", std::nullopt};
    if (view->state != webui::ApprovalState::pending) return {DecideError::not_pending, "the request is no longer pending", *view};
    if (approver.name == view->principal) return {DecideError::own_request, "you made this call, so you cannot approve it", *view};
    std::vector<std::string> needed = view->approver_roles;
    if (needed.empty()) needed.emplace_back("approver");
    const bool allowed = std::any_of(needed.begin(), needed.end(), [&](const std::string& role) {
      return std::find(approver.roles.begin(), approver.roles.end(), role) != approver.roles.end();
    });
    if (!allowed) return {DecideError::not_allowed, "you lack the role this rule asks for", *view};
    view->votes.push_back({approver.name, approve, comment, audit::audit_time_now()});
    const auto approvals = std::count_if(view->votes.begin(), view->votes.end(), [](const auto& v) { return v.approve; });
    if (!approve || approvals >= view->quorum) {
      view->state = approve ? webui::ApprovalState::approved : webui::ApprovalState::denied;
      view->comment = comment;
      view->decided = audit::audit_time_now();
    }
    notify(*view);
    return {DecideError::none, approve ? "approved" : "denied", *view};
  }

  webui::ApprovalView* lookup(const std::string& id) {
    for (auto& view : requests_) {
      if (view.id == id) return &view;
    }
    return nullptr;
  }
  void notify(const webui::ApprovalView& view) {
    const auto subscribers = subscribers_;
    for (const auto& [handle, on_change] : subscribers) on_change(view);
  }

  std::vector<webui::ApprovalView> requests_;
  std::map<std::uint64_t, std::function<void(const webui::ApprovalView&)>> subscribers_;
  std::uint64_t next_ = 0;
  std::uint64_t next_subscriber_ = 0;
};

class MemoryPinDesk : public webui::PinDesk {
 public:
  std::vector<webui::ToolPinView> pins;
  [[nodiscard]] std::vector<webui::ToolPinView> tools() const override { return pins; }
  asio::awaitable<webui::DecideResult> repin(std::string upstream, std::string tool, webui::Approver who) override {
    co_return pin_now(upstream, tool, who);
  }

 private:
  webui::DecideResult pin_now(const std::string& upstream, const std::string& tool, const webui::Approver& who) {
    for (auto& pin : pins) {
      if (pin.upstream != upstream || pin.tool != tool) continue;
      pin.state = webui::PinState::pinned;
      pin.pinned_hash = pin.current_hash;
      pin.pinned_definition = pin.current_definition;
      pin.pinned_by = who.name;
      pin.pinned_at = audit::audit_time_now();
      return {webui::DecideError::none, "re-pinned " + tool, std::nullopt};
    }
    return {webui::DecideError::not_found, "no such tool", std::nullopt};
  }
};

}  // namespace sluice::test
