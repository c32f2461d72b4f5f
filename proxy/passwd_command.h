// `sluice passwd`: reads a password (without echo on a terminal) and prints the scrypt
// hash that ui.users[].password takes.
#pragma once

#include <string_view>

#include "proxy/arguments.h"

namespace sluice::proxy {

std::string_view passwd_help();
int passwd_command(Arguments& args);

}  // namespace sluice::proxy
