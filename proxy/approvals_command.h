// `sluice approvals list|show|approve|deny`: the approval queue from a terminal, on the
// same audit store the running Sluice and its web UI use.
#pragma once

#include <string_view>

#include "proxy/arguments.h"

namespace sluice::proxy {

std::string_view approvals_help();
int approvals_command(Arguments& args);

}  // namespace sluice::proxy
