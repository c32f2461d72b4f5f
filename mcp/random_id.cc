#include "mcp/random_id.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "mcp/digest.h"

namespace sluice::mcp {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("the system's random number generator failed");
  }
  return to_hex(raw);
}

}  // namespace sluice::mcp
