// The JSON the web UI's API returns for the desk's views; `sluice approvals` prints the
// same shapes. Field names are those of the structs in webui/approval_desk.h.
#pragma once

#include <nlohmann/json.hpp>

#include "webui/approval_desk.h"

namespace sluice::webui {

nlohmann::json to_json(const ApprovalView& view);
nlohmann::json to_json(const ToolPinView& view);
std::string_view to_string(PinState state);

}  // namespace sluice::webui
