// `sluice demo`: the whole product on one machine, with no configuration to write.
#pragma once

#include <string_view>

#include "proxy/arguments.h"

namespace sluice::proxy {

std::string_view demo_help();
int demo_command(Arguments& args);

}  // namespace sluice::proxy
