// `sluice policy check|explain`: what a configuration means, without running it.
#pragma once

#include <string_view>

#include "proxy/arguments.h"

namespace sluice::proxy {

std::string_view policy_help();
int policy_command(Arguments& args);

}  // namespace sluice::proxy
