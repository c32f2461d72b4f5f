// `sluice audit tail|show|query|export|verify` and `sluice tools list|pin`: reading
// and checking the audit log, and managing tool pins, from a terminal.
#pragma once

#include <string_view>

#include "proxy/arguments.h"

namespace sluice::proxy {

std::string_view audit_help();
int audit_command(Arguments& args);
std::string_view tools_help();
int tools_command(Arguments& args);

}  // namespace sluice::proxy
