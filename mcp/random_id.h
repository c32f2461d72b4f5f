// Unguessable identifiers: proxy session ids, approval ids, HTTP session ids, web UI
// session and CSRF tokens. One generator, from the OS CSPRNG through OpenSSL, so that
// no id a peer may see comes from a predictable source.
#pragma once

#include <cstddef>
#include <string>

namespace sluice::mcp {

// `bytes` cryptographically random bytes, as lowercase hex. Throws if the system's
// random generator fails (nothing may then be named safely).
std::string random_hex(std::size_t bytes);

}  // namespace sluice::mcp
