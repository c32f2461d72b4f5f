#include "webui/view_json.h"

namespace sluice::webui {

std::string_view to_string(PinState state) {
  switch (state) {
    case PinState::pinned: return "pinned";
    case PinState::changed: return "changed";
    case PinState::unpinned: return "unpinned";
  }
  return "unknown";
}

nlohmann::json to_json(const ApprovalView& view) {
  auto votes = nlohmann::json::array();
  for (const auto& vote : view.votes) {
    votes.push_back({{"approver", vote.approver}, {"approve", vote.approve}, {"comment", vote.comment}, {"time", vote.time}});
  }
  return {
      {"id", view.id},
      {"state", to_string(view.state)},
      {"session", view.session},
      {"principal", view.principal},
      {"upstream", view.upstream},
      {"tool", view.tool},
      {"tool_class", view.tool_class},
      {"rule", view.rule},
      {"reason", view.reason},
      {"arguments", view.arguments},
      {"arguments_hash", view.arguments_hash},
      {"created", view.created},
      {"expires", view.expires},
      {"decided", view.decided},
      {"quorum", view.quorum},
      {"approver_roles", view.approver_roles},
      {"votes", votes},
      {"comment", view.comment},
  };
}

nlohmann::json to_json(const ToolPinView& view) {
  return {
      {"upstream", view.upstream},
      {"tool", view.tool},
      {"state", to_string(view.state)},
      {"pinned_hash", view.pinned_hash},
      {"current_hash", view.current_hash},
      {"pinned_by", view.pinned_by},
      {"pinned_at", view.pinned_at},
      {"current_definition", view.current_definition},
      {"pinned_definition", view.pinned_definition},
  };
}

}  // namespace sluice::webui
